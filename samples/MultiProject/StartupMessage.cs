using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Trac.Hosting;

namespace MultiProject;

/// <summary>The line, once the app listens, that says where to browse.</summary>
internal static partial class StartupMessage
{
    public static void Write(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses?.FirstOrDefault() is not { } address)
        {
            return; // an in-memory test server has no address to browse to
        }

        var parent = app.Services.GetRequiredService<IOptions<TracOptions>>().Value.Environment.ParentDirectory;
        BrowseProjects(app.Logger, Browsable(address), parent);
    }

    // Kestrel reports what it bound; a browser needs a host name.
    private static string Browsable(string address)
    {
        foreach (var anyHost in new[] { "://+:", "://*:", "://[::]:", "://0.0.0.0:" })
        {
            address = address.Replace(anyHost, "://localhost:", StringComparison.Ordinal);
        }

        return address.TrimEnd('/') + "/";
    }

    [LoggerMessage(1, LogLevel.Information, "Browse to {Url} for the project index (Trac projects in {ParentDirectory}).",
        EventName = "BrowseProjects")]
    private static partial void BrowseProjects(ILogger logger, string url, string? parentDirectory);
}
