namespace Trac.Hosting.Tests.Support;

/// <summary>The most of something at once (warm-ups, requests), kept from many threads.</summary>
internal static class AtomicMax
{
    /// <summary>Raises <paramref name="target"/> to <paramref name="value"/> if it is lower, atomically.</summary>
    public static void Raise(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
