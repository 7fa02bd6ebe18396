using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Checks every entry of a plugin archive before anything is written: names that could escape the target or mean
/// something else on another file system or show as another name, duplicates, and the limits that stop zip bombs
/// (the compression ratio of each entry and of the whole archive, since entries can share one compressed block). One
/// bad entry refuses the whole archive.
/// </summary>
internal static class PluginArchiveValidator
{
    private static readonly HashSet<string> s_reservedNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
        "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>Returns the entries with their relative paths (with <c>/</c>), files and directories apart.</summary>
    /// <param name="archive">The archive, open for reading.</param>
    /// <param name="archivePath">The archive's path, for the messages.</param>
    /// <param name="archiveLength">The size of the file <paramref name="archive"/> is read from, for the whole archive's ratio.</param>
    /// <param name="targetRoot">The folder the entries are to be extracted into.</param>
    /// <param name="limits">The limits in force.</param>
    /// <exception cref="UnsafePluginArchiveException">An entry is unsafe or a limit is exceeded.</exception>
    public static IReadOnlyList<(ZipArchiveEntry Entry, string RelativePath, bool IsDirectory)> Validate(
        ZipArchive archive, string archivePath, long archiveLength, string targetRoot, PluginArchiveLimits limits)
    {
        var result = new List<(ZipArchiveEntry, string, bool)>();
        var files = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var directories = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var explicitDirectories = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var root = Path.GetFullPath(targetRoot) + Path.DirectorySeparatorChar;
        long total = 0;
        foreach (var entry in archive.Entries)
        {
            var name = entry.FullName;
            void Refuse(string reason) => throw new UnsafePluginArchiveException(archivePath, name, reason);

            if (result.Count >= limits.MaxEntries)
            {
                Refuse($"the archive has more than {limits.MaxEntries} entries (Trac:PluginCache:MaxEntries)");
            }

            var isDirectory = name.EndsWith('/');
            var relative = isDirectory ? name[..^1] : name;
            CheckName(relative, Refuse);
            if (relative.Equals(PluginExtractor.MarkerName, StringComparison.OrdinalIgnoreCase))
            {
                Refuse("it is named like the marker of a complete extraction");
            }

            var full = Path.GetFullPath(Path.Combine(root, relative.Replace('/', Path.DirectorySeparatorChar)));
            if (!full.StartsWith(root, StringComparison.Ordinal))
            {
                Refuse("it resolves outside the extraction folder");
            }

            // Case-only duplicates collide on case-insensitive file systems; a file and a directory of one name collide anywhere.
            const string Duplicate = "another entry has the same name (also compared ignoring case)";
            var parents = Parents(relative).ToList();
            if (files.Contains(relative) || parents.Any(files.Contains) ||
                (isDirectory ? !explicitDirectories.Add(relative) : directories.Contains(relative)))
            {
                Refuse(Duplicate);
            }

            if (isDirectory)
            {
                directories.Add(relative);
            }
            else
            {
                files.Add(relative);
                total += entry.Length;
                if (total > limits.MaxTotalSize)
                {
                    Refuse($"the archive expands to more than {limits.MaxTotalSize} bytes (Trac:PluginCache:MaxTotalSize)");
                }

                if (entry.Length > 0 && (entry.CompressedLength == 0 || (double)entry.Length / entry.CompressedLength > limits.MaxCompressionRatio))
                {
                    Refuse($"it is compressed more than {limits.MaxCompressionRatio}:1 (Trac:PluginCache:MaxCompressionRatio)");
                }

                // Entries whose records point at one shared block each pass the check above, however many there are.
                if (total > limits.MaxCompressionRatio * archiveLength)
                {
                    Refuse(
                        $"the archive as a whole is compressed more than {limits.MaxCompressionRatio}:1 ({total} bytes or more from a file of " +
                        $"{archiveLength} bytes), as when entries share compressed data; pack each entry's data once, or raise the limit " +
                        "(Trac:PluginCache:MaxCompressionRatio)");
                }
            }

            directories.UnionWith(parents);
            result.Add((entry, relative, isDirectory));
        }

        return result;
    }

    private static void CheckName(string relative, Action<string> refuse)
    {
        if (relative.Length == 0)
        {
            refuse("it has no name");
        }

        if (relative.Any(char.IsControl))
        {
            refuse("its name holds a control character");
        }

        // Such as U+202E, which shows "evil\u202Etxt.exe" as "evilexe.txt"; the remote-user rules refuse them too.
        foreach (var rune in relative.EnumerateRunes())
        {
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format)
            {
                refuse(
                    $"its name holds the format character U+{rune.Value:X4}, invisible or changing how the name is shown; " +
                    "rename the entry without it (Unicode category Cf)");
            }
        }

        if (relative.Contains('\\', StringComparison.Ordinal))
        {
            refuse("its name holds a backslash, a separator on Windows");
        }

        if (relative.Contains(':', StringComparison.Ordinal))
        {
            refuse("its name holds a ':' (a drive letter or an alternate data stream on Windows)");
        }

        if (relative[0] == '/')
        {
            refuse("its path is absolute");
        }

        foreach (var segment in relative.Split('/'))
        {
            if (segment.Length == 0)
            {
                refuse("its path has an empty segment");
            }

            if (segment is "." or "..")
            {
                refuse($"its path has a '{segment}' segment");
            }

            if (segment[^1] is '.' or ' ')
            {
                refuse("a segment of its path ends with a dot or a space, which Windows drops");
            }

            var stem = segment.Split('.')[0].TrimEnd(' ');
            if (s_reservedNames.Contains(stem))
            {
                refuse($"'{segment}' is a reserved device name on Windows");
            }
        }
    }

    private static IEnumerable<string> Parents(string relative)
    {
        for (var slash = relative.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = relative.IndexOf('/', slash + 1))
        {
            yield return relative[..slash];
        }
    }
}
