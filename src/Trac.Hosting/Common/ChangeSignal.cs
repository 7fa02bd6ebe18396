using Microsoft.Extensions.Primitives;

namespace Trac.Hosting.Common;

/// <summary>
/// A change notification that can fire any number of times: each <see cref="GetChangeToken"/> returns a token that
/// fires at the next <see cref="Signal"/>. Take the token before reading the state it guards, so that no change is
/// missed (at worst one is seen twice).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A CancellationTokenSource without a timer holds nothing to dispose.")]
internal sealed class ChangeSignal
{
    private readonly object _gate = new();
    private CancellationTokenSource _source = new();

    /// <summary>Returns a token that fires at the next <see cref="Signal"/>.</summary>
    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_source.Token);
        }
    }

    /// <summary>Fires every token handed out so far; tokens asked for from now on wait for the next signal.</summary>
    public void Signal()
    {
        CancellationTokenSource fired;
        lock (_gate)
        {
            fired = _source;
            _source = new CancellationTokenSource();
        }

        // Outside the lock: the callbacks may ask for a new token.
        fired.Cancel();
    }
}
