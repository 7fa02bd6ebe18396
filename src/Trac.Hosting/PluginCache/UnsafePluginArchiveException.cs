namespace Trac.Hosting.PluginCache;

/// <summary>A plugin archive refused whole, before anything was written, because of one of its entries.</summary>
internal sealed class UnsafePluginArchiveException : Exception
{
    public UnsafePluginArchiveException(string archive, string entry, string reason)
        : base($"The plugin archive '{archive}' was refused because of its entry '{Printable(entry)}': {reason}. Nothing was extracted from it.")
    {
        Archive = archive;
        Entry = entry;
    }

    public string Archive { get; }

    public string Entry { get; }

    private static string Printable(string value) =>
        string.Concat(value.Select(c => char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format or System.Globalization.UnicodeCategory.Surrogate
            ? $"\\u{(int)c:X4}" : c.ToString()));
}
