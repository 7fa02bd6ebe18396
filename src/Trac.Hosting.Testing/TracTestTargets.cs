using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Trac.Hosting.Common;

namespace Trac.Hosting.Testing;

/// <summary>Helpers over <see cref="ITracTestTarget"/>.</summary>
internal static class TracTestTargets
{
    /// <summary>Returns the host's <c>TestServer</c>, or <see langword="null"/> when it runs on Kestrel.</summary>
    public static TestServer? TestServerOf(ITracTestTarget target) => target.Services.GetRequiredService<IServer>() as TestServer;

    /// <summary>
    /// Returns the worker-pool key of an environment: its full path, as the host's catalog knows it; for a name the
    /// catalog does not know (yet), its path under the host's parent directory.
    /// </summary>
    public static string KeyOf(ITracTestTarget target, string environment)
    {
        ArgumentException.ThrowIfNullOrEmpty(environment);
        if (environment == "shared" || Path.IsPathRooted(environment))
        {
            return environment;
        }

        var catalogs = target.Services.GetRequiredService<TracMarkerService>().Owned<Environments.EnvironmentCatalog>();
        foreach (var catalog in catalogs)
        {
            if (catalog.TryFindProject(environment, out var slot))
            {
                return slot.Path;
            }
        }

        var parent = catalogs.Select(c => c.Settings.ParentDirectory).FirstOrDefault(p => p is not null)
            ?? throw new InvalidOperationException(
                $"The host has no environment named '{environment}' and no parent directory to find it in: pass the environment's full path instead.");
        return Path.Combine(parent, environment);
    }

    /// <summary>Checks a path and query given whole.</summary>
    public static string CheckPath(string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(pathAndQuery);
        return pathAndQuery.StartsWith('/')
            ? pathAndQuery
            : throw new ArgumentException($"The path must start with '/': '{pathAndQuery}'.", nameof(pathAndQuery));
    }

    /// <summary>Builds a request path from an environment name and a path inside it.</summary>
    public static string PathOf(string environment, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(environment);
        ArgumentNullException.ThrowIfNull(path);
        return "/" + environment + (path.StartsWith('/') ? path : "/" + path);
    }
}
