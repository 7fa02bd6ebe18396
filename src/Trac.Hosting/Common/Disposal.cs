namespace Trac.Hosting.Common;

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
