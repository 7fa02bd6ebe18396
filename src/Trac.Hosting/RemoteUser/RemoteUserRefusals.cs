using Microsoft.Extensions.Logging;
using Trac.Hosting.Diagnostics;

using Trac.Hosting.Common;

namespace Trac.Hosting.RemoteUser;

/// <summary>
/// Records refused remote user values so that no client can fill the log with them: every refusal is counted in the
/// <c>trac.remote_user.refusals</c> metric and logged at Debug level (the value escaped), and a Warning that carries
/// only the reason and a count is written at most once per reason every <see cref="SummaryInterval"/>. Lock-free: one
/// count and one due time per reason, updated with <see cref="Interlocked"/>.
/// </summary>
internal sealed class RemoteUserRefusals
{
    /// <summary>The tag of <c>trac.remote_user.refusals</c> that holds the reason.</summary>
    public const string ReasonTag = "trac.remote_user.refusal.reason";

    /// <summary>The least time between two Warnings for one reason.</summary>
    public static readonly TimeSpan SummaryInterval = TimeSpan.FromMinutes(1);

    private static readonly RemoteUserRefusalReason[] s_reasons = Enum.GetValues<RemoteUserRefusalReason>();
    private static readonly KeyValuePair<string, object?>[] s_tags =
        s_reasons.Select(r => new KeyValuePair<string, object?>(ReasonTag, TagValue(r))).ToArray();

    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private readonly TracMetrics _metrics;
    private readonly long _interval;

    // Indexed by reason: refusals not yet in a Warning, and the timestamp from which the next Warning may be written.
    private readonly long[] _pending = new long[s_reasons.Length];
    private readonly long[] _nextSummary = Enumerable.Repeat(long.MinValue, s_reasons.Length).ToArray();

    public RemoteUserRefusals(ILogger logger, TimeProvider timeProvider, TracMetrics metrics)
    {
        _logger = logger;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _interval = (long)(SummaryInterval.TotalSeconds * timeProvider.TimestampFrequency);
    }

    /// <summary>Counts and logs one refusal; <paramref name="value"/> only ever reaches the Debug entry, escaped.</summary>
    public void Record(RemoteUserSource source, RemoteUserResult result, string value, string? project)
    {
        var reason = result.Reason!.Value;
        var index = (int)reason;
        _metrics.RemoteUserRefusals.Add(1, _metrics.Tags(project, s_tags[index]));
        Interlocked.Increment(ref _pending[index]);

        var malformed = result.Outcome == RemoteUserOutcome.Malformed;
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            // Escaping allocates: only for a log that is written.
            if (malformed)
            {
                RemoteUserLog.RemoteUserMalformed(_logger, source, Describe(reason), LogText.Escape(value));
            }
            else
            {
                RemoteUserLog.RemoteUserRefused(_logger, source, Describe(reason), LogText.Escape(value));
            }
        }

        var now = _timeProvider.GetTimestamp();
        var due = Volatile.Read(ref _nextSummary[index]);
        if (now >= due && Interlocked.CompareExchange(ref _nextSummary[index], now + _interval, due) == due)
        {
            // Refusals counted by other threads meanwhile go into this Warning or the next one, never into none.
            var count = Interlocked.Exchange(ref _pending[index], 0);
            RemoteUserLog.RemoteUserRefusalsSummarized(_logger, count, malformed ? 400 : 403, TagValue(reason), Describe(reason), SummaryInterval);
        }
    }

    /// <summary>The reason as the metric tag and the Warning name it: fixed, lower-case words.</summary>
    internal static string TagValue(RemoteUserRefusalReason reason) => reason switch
    {
        RemoteUserRefusalReason.TooLong => "too_long",
        RemoteUserRefusalReason.ControlCharacter => "control_character",
        RemoteUserRefusalReason.NullLiteral => "null_literal",
        RemoteUserRefusalReason.List => "list",
        RemoteUserRefusalReason.NestedDomain => "nested_domain",
        RemoteUserRefusalReason.MalformedPrincipal => "malformed_principal",
        RemoteUserRefusalReason.EmptyAfterStripping => "empty_after_stripping",
        RemoteUserRefusalReason.RepeatedHeader => "repeated_header",
        RemoteUserRefusalReason.ForeignDomain => "foreign_domain",
        RemoteUserRefusalReason.ForeignRealm => "foreign_realm",
        RemoteUserRefusalReason.MultiComponentPrincipal => "multi_component_principal",
        RemoteUserRefusalReason.MachineAccount => "machine_account",
        RemoteUserRefusalReason.ReservedName => "reserved_name",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>The reason in words, for the log.</summary>
    internal static string Describe(RemoteUserRefusalReason reason) => reason switch
    {
        RemoteUserRefusalReason.TooLong => "longer than the maximum length",
        RemoteUserRefusalReason.ControlCharacter => "control or format character",
        RemoteUserRefusalReason.NullLiteral => "the placeholder Apache sends for a missing value",
        RemoteUserRefusalReason.List => "a comma-separated list",
        RemoteUserRefusalReason.NestedDomain => @"more than one '\'",
        RemoteUserRefusalReason.MalformedPrincipal => "not of the form user@REALM",
        RemoteUserRefusalReason.EmptyAfterStripping => "no user name left after stripping",
        RemoteUserRefusalReason.RepeatedHeader => "the header was sent more than once",
        RemoteUserRefusalReason.ForeignDomain => "a domain that is not listed as local",
        RemoteUserRefusalReason.ForeignRealm => "a realm that is not listed as local",
        RemoteUserRefusalReason.MultiComponentPrincipal => "a multi-component principal",
        RemoteUserRefusalReason.MachineAccount => "a machine account",
        RemoteUserRefusalReason.ReservedName => "a name Trac reserves for a group",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}
