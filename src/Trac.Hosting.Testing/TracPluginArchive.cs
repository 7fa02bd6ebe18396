using System.IO.Compression;
using System.Text;

namespace Trac.Hosting.Testing;

/// <summary>
/// Writes plugin archives (zip files) for tests: well-formed ones from given files, and, because every entry name
/// is written exactly as given, hostile ones (<c>../x</c>, <c>/abs</c>, <c>C:\x</c>, duplicates) to test refusals.
/// The same files always give the same bytes (entries carry a fixed time stamp).
/// </summary>
public static class TracPluginArchive
{
    private static readonly DateTimeOffset FixedTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Writes an empty zip file.</summary>
    /// <param name="path">The archive to create or replace.</param>
    /// <returns><paramref name="path"/>.</returns>
    public static string Write(string path) => Write(path, Array.Empty<(string, byte[])>());

    /// <summary>Writes a zip file with one entry per file.</summary>
    /// <param name="path">The archive to create or replace.</param>
    /// <param name="files">Entry names (with <c>/</c>; a name ending with <c>/</c> is a directory) and their text.</param>
    /// <returns><paramref name="path"/>.</returns>
    public static string Write(string path, params (string Name, string Content)[] files)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(files);
        return Write(path, files.Select(f => (f.Name, Encoding.UTF8.GetBytes(f.Content))).ToArray());
    }

    /// <summary>Writes a zip file with one entry per file, with binary content.</summary>
    /// <param name="path">The archive to create or replace.</param>
    /// <param name="files">Entry names and their bytes.</param>
    /// <returns><paramref name="path"/>.</returns>
    public static string Write(string path, params (string Name, byte[] Content)[] files)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(files);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // Written beside and moved into place, so a watcher never sees half an archive.
        var temporary = path + ".partial";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create))
        {
            foreach (var (name, content) in files)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
                // A fixed time stamp: the same files always make the same bytes, so the same content hash.
                entry.LastWriteTime = FixedTime;
                if (!name.EndsWith('/'))
                {
                    using var entryStream = entry.Open();
                    entryStream.Write(content);
                }
            }
        }

        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
