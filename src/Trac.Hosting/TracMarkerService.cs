using Trac.Hosting.Environments;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting;

/// <summary>
/// Registered by <c>AddTrac</c>: proves to <c>UseTrac</c> that the services are there, and owns what the Trac
/// pipelines create (catalogs, watchers) so they are disposed with the application's services.
/// </summary>
internal sealed class TracMarkerService : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    public void Own(IDisposable disposable)
    {
        lock (_owned)
        {
            _owned.Add(disposable);
        }
    }

    /// <summary>Gets the environment catalogs of the pipelines built so far (for diagnostics and tests).</summary>
    internal IReadOnlyList<EnvironmentCatalog> Catalogs
    {
        get
        {
            lock (_owned)
            {
                return _owned.OfType<EnvironmentCatalog>().ToArray();
            }
        }
    }

    /// <summary>Gets the plugin set providers of the pipelines built so far (for diagnostics and tests).</summary>
    internal IReadOnlyList<PluginSetProvider> PluginProviders
    {
        get
        {
            lock (_owned)
            {
                return _owned.OfType<PluginSetProvider>().ToArray();
            }
        }
    }

    public void Dispose()
    {
        IDisposable[] owned;
        lock (_owned)
        {
            owned = [.. _owned];
            _owned.Clear();
        }

        foreach (var disposable in owned)
        {
            disposable.Dispose();
        }
    }
}
