using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;
using Trac.Hosting.RemoteUser;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.RemoteUser;

/// <summary>
/// Refused remote users and removed user headers cannot fill the log: each is logged at Debug level and counted in
/// <c>trac.remote_user.refusals</c>; a Warning without the client's text is written at most once per reason per
/// <see cref="RemoteUserRefusals.SummaryInterval"/>, with the number of refusals since the last one. Through
/// TestServer, with many requests at once and the host's manual clock.
/// </summary>
public sealed partial class RemoteUserRefusalLogTests : IDisposable
{
    private const int Concurrent = 1000;
    private const string Loopback = "127.0.0.1";
    private const string Stranger = "203.0.113.9";
    private const string ClientText = "mallory";

    private readonly TracTestDirectory _projects = new();

    public RemoteUserRefusalLogTests() => _projects.CreateEnvironment("alpha", e => e.WithProject("Alpha"));

    public void Dispose() => _projects.Dispose();

    // Per reason: the end of a client value that gets it refused (after text the client chose), and the status.
    private static readonly (string Reason, string Ending, int Status)[] s_reasons =
    [
        ("control_character", "\u202E", 400),
        ("list", ",trudy", 400),
        ("machine_account", "$", 403),
    ];

    [Fact]
    public async Task ManyConcurrentRefusals_GiveOneWarningPerReasonPerInterval_WithTheirCount()
    {
        await using var host = await Host().StartAsync();
        var reasons = s_reasons;

        // Every reason at once, from many concurrent requests.
        var statuses = await Task.WhenAll(reasons.SelectMany(r => Enumerable.Range(0, Concurrent).Select(i => Task.Run(() => RefuseAsync(host, ClientText + i + r.Ending)))));

        Assert.Equal(reasons.SelectMany(r => Enumerable.Repeat(r.Status, Concurrent)).Order(), statuses.Order());
        var first = Summaries(host);
        Assert.Equal(reasons.Select(r => r.Reason).Order(), first.Select(s => s.Reason).Order());
        Assert.All(first, s => Assert.InRange(s.Count, 1, Concurrent));
        Assert.All(first, s => Assert.Equal(reasons.Single(r => r.Reason == s.Reason).Status, s.StatusCode));
        Assert.Equal(Concurrent, host.Logs.Entries.Count(e => e.Id.Id == EventIds.RemoteUserMalformed && e.Message.Contains("control or format", StringComparison.Ordinal)));
        Assert.Equal(Concurrent, host.Logs.Entries.Count(e => e.Id.Id == EventIds.RemoteUserRefused));
        AssertNoClientTextAtWarningOrAbove(host);

        // Just short of the interval: still counted, still no second Warning.
        host.Time.Advance(RemoteUserRefusals.SummaryInterval - TimeSpan.FromSeconds(1));
        foreach (var (_, ending, _) in reasons)
        {
            await RefuseAsync(host, ClientText + ending);
        }

        Assert.Equal(reasons.Length, Summaries(host).Count);

        // Past it: the next refusal of each reason writes one Warning with everything counted since the first.
        host.Time.Advance(TimeSpan.FromSeconds(2));
        foreach (var (_, ending, _) in reasons)
        {
            await RefuseAsync(host, ClientText + ending);
        }

        var all = Summaries(host);
        Assert.Equal(2 * reasons.Length, all.Count);
        foreach (var (reason, _, _) in reasons)
        {
            var (earlier, later) = (all.First(s => s.Reason == reason), all.Last(s => s.Reason == reason));
            Assert.Equal(Concurrent - earlier.Count + 2, later.Count);
            Assert.Equal(Concurrent + 2, earlier.Count + later.Count);
            Assert.Equal(Concurrent + 2, host.Metrics.Sum("trac.remote_user.refusals", (RemoteUserRefusals.ReasonTag, reason)));
        }

        Assert.Equal(reasons.Length * (Concurrent + 2), host.Metrics.Sum("trac.remote_user.refusals"));
        AssertNoClientTextAtWarningOrAbove(host);
    }

    [Fact]
    public async Task RepeatedHeaderFromATrustedProxy_IsSummarizedToo()
    {
        await using var host = await Host(o => o.KnownProxies.Add(Loopback)).StartAsync();

        var statuses = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(i => Task.Run(async () =>
            (await host.Request("alpha", "/wiki").FromPeer(Loopback).WithHeader("X-Remote-User", "alice", ClientText + i).SendAsync()).StatusCode)));

        Assert.All(statuses, s => Assert.Equal(400, s));
        var summary = Assert.Single(Summaries(host));
        Assert.Equal("repeated_header", summary.Reason);
        Assert.Equal(Concurrent, host.Metrics.Sum("trac.remote_user.refusals", (RemoteUserRefusals.ReasonTag, "repeated_header")));
        AssertNoClientTextAtWarningOrAbove(host);
    }

    [Fact]
    public async Task UntrustedAndLookAlikeHeaders_AreRemovedWithDebugEntriesOnly()
    {
        await using var host = await Host(o => o.KnownProxies.Add(Loopback)).StartAsync();

        var bodies = await Task.WhenAll(Enumerable.Range(0, Concurrent).Select(i => Task.Run(async () =>
            (await host.Request("alpha", "/wiki").FromPeer(Stranger).WithHeader("X-Remote-User", ClientText + i).WithHeader("X_Remote_User", ClientText + i).SendAsync()).Body)));

        Assert.All(bodies, b => Assert.Equal("user=-", b));
        Assert.Equal(Concurrent, host.Logs.Entries.Count(e => e.Id.Id == EventIds.UntrustedUserHeaderRemoved && e.Level == LogLevel.Debug));
        Assert.Equal(Concurrent, host.Logs.Entries.Count(e => e.Id.Id == EventIds.LookAlikeHeaderRemoved && e.Level == LogLevel.Debug));
        Assert.DoesNotContain(host.Logs.Entries, e => e.Category == "Trac.Hosting.RemoteUser" && e.Level >= LogLevel.Information);
    }

    [Fact]
    public void EveryReason_HasADistinctTagValueAndADescription()
    {
        var reasons = Enum.GetValues<RemoteUserRefusalReason>();

        var tags = reasons.Select(RemoteUserRefusals.TagValue).ToArray();

        Assert.Equal(tags.Length, tags.Distinct(StringComparer.Ordinal).Count());
        Assert.All(tags, t => Assert.Matches("^[a-z]+(_[a-z]+)*$", t));
        Assert.All(reasons, r => Assert.False(string.IsNullOrWhiteSpace(RemoteUserRefusals.Describe(r))));
    }

    [Fact]
    public void EveryReason_IsListedInTheConfigurationDoc()
    {
        var doc = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Docs", "configuration.md"));

        Assert.All(Enum.GetValues<RemoteUserRefusalReason>(), r =>
            Assert.True(doc.Contains("`" + RemoteUserRefusals.TagValue(r) + "`", StringComparison.Ordinal),
                $"docs/configuration.md does not list the refusal reason `{RemoteUserRefusals.TagValue(r)}`."));
    }

    private static async Task<int> RefuseAsync(TracTestHost host, string value) =>
        (await host.Request("alpha", "/wiki").WithServerVariable("REMOTE_USER", value).SendAsync()).StatusCode;

    private static List<(string Reason, int StatusCode, long Count)> Summaries(TracTestHost host) =>
        host.Logs.Entries.Where(e => e.Id.Id == EventIds.RemoteUserRefusalsSummarized).Select(e =>
        {
            Assert.Equal(LogLevel.Warning, e.Level);
            Assert.Equal(nameof(EventIds.RemoteUserRefusalsSummarized), e.Id.Name);
            var match = SummaryPattern().Match(e.Message);
            Assert.True(match.Success, e.Message);
            return (match.Groups["reason"].Value, int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture),
                long.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture));
        }).ToList();

    private static void AssertNoClientTextAtWarningOrAbove(TracTestHost host) =>
        Assert.All(host.Logs.Entries.Where(e => e.Level >= LogLevel.Warning), e =>
        {
            Assert.DoesNotContain(ClientText, e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("trudy", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain('\u202E', e.Message);
        });

    [GeneratedRegex(@"^Remote user values refused with (?<status>\d{3}) for (?<reason>[a-z_]+) \(.*\) since the last such warning: (?<count>\d+)\. ")]
    private static partial Regex SummaryPattern();

    private TracTestHostBuilder Host(Action<RemoteUserOptions>? remoteUser = null) =>
        TracTestHost.CreateBuilder(_projects).UseTrac(t => t.ResolveEnvironment().NormalizeRemoteUser(remoteUser)
            .Dispatch(c => c.Response.WriteAsync("user=" + (c.GetRemoteUser() ?? "-"))));
}
