namespace Trac.Hosting.Common;

/// <summary>
/// Registered by <c>AddTrac</c>: proves to <c>UseTrac</c> that the services are there, and owns what the Trac
/// pipelines create (catalogs, watchers) so they are disposed with the application's services.
/// </summary>
internal sealed class TracMarkerService : IDisposable, IAsyncDisposable
{
    private readonly List<object> _owned = [];

    public void Own(IDisposable disposable) => OwnAny(disposable);

    public void Own(IAsyncDisposable disposable) => OwnAny(disposable);

    /// <summary>Gets what the pipelines built so far own of type <typeparamref name="T"/> (for diagnostics and tests).</summary>
    internal IReadOnlyList<T> Owned<T>()
    {
        lock (_owned)
        {
            return _owned.OfType<T>().ToArray();
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        object[] owned;
        lock (_owned)
        {
            owned = [.. _owned];
            _owned.Clear();
        }

        // Last built, first disposed: the worker pool goes before the plugin cache and the catalog it uses. One that
        // throws does not keep the others from being disposed.
        var errors = new List<Exception>();
        foreach (var item in Enumerable.Reverse(owned))
        {
            try
            {
                await Disposal.DisposeAsync(item);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }

        if (errors.Count > 0)
        {
            throw new AggregateException("Disposing the Trac pipelines failed.", errors);
        }
    }

    private void OwnAny(object disposable)
    {
        lock (_owned)
        {
            _owned.Add(disposable);
        }
    }
}
