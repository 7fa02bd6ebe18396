namespace Trac.Hosting.Common;

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
