using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests;

/// <summary>
/// What the configuration binder would take silently stops start-up instead, naming the key and the fix: a typo (with
/// the nearest valid key), a bare number for a duration (read as days), a value not of its option's type, an enum
/// value not in its list, a single value for a list.
/// </summary>
public sealed class TracConfigurationCheckTests : IDisposable
{
    private readonly TracTestDirectory _projects = new();

    public void Dispose() => _projects.Dispose();

    [Theory]
    [InlineData("Trac:Workers:MaxRequest", "5", "Trac:Workers:MaxRequest is not an option; did you mean MaxRequests?")]
    [InlineData("Trac:Enviroment:Path", "/srv/trac", "Trac:Enviroment is not an option; did you mean Environment?")]
    [InlineData("Trac:Login:Files:*:Pth", "/srv/htpasswd", "Trac:Login:Files:*:Pth is not an option; did you mean Path?")]
    [InlineData("Trac:RemoteUser:KnownNetworks:0", "10.0.0.0/8", "Trac:RemoteUser:KnownNetworks is not an option; did you mean KnownIPNetworks?")]
    [InlineData("Trac:Workers:Frobnicate", "1", "Trac:Workers:Frobnicate is not an option; the options here are ")]
    [InlineData("Trac:Workers:DrainTimeout", "30", "Trac:Workers:DrainTimeout '30' is a bare number, which would be read as days; write a duration such as '00:00:30'")]
    [InlineData("Trac:Workers:DrainTimeout", "30s", "Trac:Workers:DrainTimeout '30s' is not a duration; write one such as '00:00:30'")]
    [InlineData("Trac:RemoteUser:Case", "Lowercase", "Trac:RemoteUser:Case 'Lowercase' is not one of Preserve, Lower, Upper.")]
    [InlineData("Trac:RemoteUser:Sources:0", "Cookie", "Trac:RemoteUser:Sources:0 'Cookie' is not one of Principal, ServerVariable, Header.")]
    [InlineData("Trac:RemoteUser:KnownProxies", "127.0.0.1", "Trac:RemoteUser:KnownProxies is a list: give its items as Trac:RemoteUser:KnownProxies:0, Trac:RemoteUser:KnownProxies:1")]
    [InlineData("Trac:Workers:MaxRequests", "lots", "Trac:Workers:MaxRequests 'lots' is not a whole number.")]
    [InlineData("Trac:RemoteUser:StripDomain", "yes", "Trac:RemoteUser:StripDomain 'yes' is not true or false.")]
    [InlineData("Trac:Workers", "500", "Trac:Workers is a section of options, not a single value.")]
    [InlineData("Trac:Environment:Selector", "x", "Trac:Environment:Selector can only be set in code")]
    public async Task AMistake_StopsStartUp_NamingTheKeyAndTheFix(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync((key, value)));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryMistake_IsListed_AtOnce()
    {
        var configuration = Configuration(("Trac:Workers:MaxRequest", "5"), ("Trac:Workers:DrainTimeout", "30"), ("Trac:Python:LcTme", "C"));
        using var services = new ServiceCollection().AddTrac(configuration.GetSection("Trac")).BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => services.GetRequiredService<IOptions<TracOptions>>().Value);

        Assert.StartsWith("The Trac configuration has 3 problems; fix them and start again:", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:Python:LcTme is not an option; did you mean LcTime?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RightSpellings_InAnyCase_Bind()
    {
        var configuration = Configuration(("Trac:workers:maxrequests", "5"), ("Trac:Workers:DrainTimeout", "00:00:30"), ("Trac:RemoteUser:Case", "lower"),
            ("Trac:RemoteUser:KnownProxies:0", "127.0.0.1"), ("Trac:Login:Files:*:Path", "/srv/htpasswd"), ("Trac:Python:Environment:HOME", "/srv"));
        using var services = new ServiceCollection().AddTrac(configuration.GetSection("Trac")).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<TracOptions>>().Value;

        Assert.Equal(5, options.Workers.MaxRequests);
        Assert.Equal(TimeSpan.FromSeconds(30), options.Workers.DrainTimeout);
        Assert.Equal(Hosting.RemoteUser.RemoteUserCase.Lower, options.RemoteUser.Case);
        Assert.Equal("/srv/htpasswd", options.Login.Files["*"].Path);
        Assert.Equal("/srv", options.Python.Environment["HOME"]);
    }

    private static IConfigurationRoot Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private async Task StartAsync(params (string Key, string Value)[] values)
    {
        var configuration = Configuration([("Trac:Environment:ParentDirectory", _projects.Path), .. values]);
        using var host = await TestHosts.StartAppAsync(s => s.AddTrac(configuration.GetSection("Trac")), app => app.UseTrac());
    }
}
