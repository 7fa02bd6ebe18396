namespace Trac.Hosting.Workers;

/// <summary>
/// The random extra the pool adds to a worker's request limit and lifetime, so that workers started together do not
/// recycle together. Its randomness is a service like the clock: the library's tests register their own
/// <see cref="WorkerJitter"/> to pin every draw.
/// </summary>
internal sealed class WorkerJitter(Func<long, long> draw)
{
    /// <summary>Draws uniformly from the whole range, the default.</summary>
    public static WorkerJitter Random { get; } = new(maximum => System.Random.Shared.NextInt64(0, maximum + 1));

    /// <summary>Returns a value from 0 to <paramref name="maximum"/>, both included; 0 when the maximum is not positive.</summary>
    public long Next(long maximum) => maximum > 0 ? Math.Clamp(draw(maximum), 0, maximum) : 0;

    /// <summary>Returns a duration from zero to <paramref name="maximum"/>, both included.</summary>
    public TimeSpan Next(TimeSpan maximum) => TimeSpan.FromTicks(Next(maximum.Ticks));
}
