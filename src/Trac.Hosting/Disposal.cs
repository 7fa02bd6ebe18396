namespace Trac.Hosting;

/// <summary>Disposes what may be asynchronously or synchronously disposable (or neither).</summary>
internal static class Disposal
{
    public static ValueTask DisposeAsync(object? item)
    {
        switch (item)
        {
            case IAsyncDisposable asyncDisposable:
                return asyncDisposable.DisposeAsync();
            case IDisposable disposable:
                disposable.Dispose();
                break;
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>List helpers for options that copy themselves.</summary>
internal static class Lists
{
    /// <summary>Appends every item of <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static void CopyTo<T>(IEnumerable<T> from, ICollection<T> to)
    {
        foreach (var item in from)
        {
            to.Add(item);
        }
    }
}
