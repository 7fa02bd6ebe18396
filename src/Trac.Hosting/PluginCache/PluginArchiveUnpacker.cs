using System.IO.Compression;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Unpacks one archive (a private copy of it) into its folder: validated first, written into a temporary folder with
/// every entry's size and checksum checked, the marker written last, then renamed into place in one move.
/// </summary>
internal static class PluginArchiveUnpacker
{
    /// <summary>Unpacks <paramref name="copy"/> of <paramref name="archive"/> into <paramref name="folder"/>; called under the folder's lock.</summary>
    /// <exception cref="UnsafePluginArchiveException">An entry is unsafe or a limit is exceeded.</exception>
    /// <exception cref="InvalidDataException">The archive is corrupt.</exception>
    public static void Unpack(string copy, string archive, string folder, string hash, PluginArchiveLimits limits, CancellationToken cancellationToken)
    {
        using var source = new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.Read);
        // The entry count comes from the end record, before the whole central directory is parsed into memory.
        if (ZipEndRecord.ReadEntryCount(source) is { } count && count > limits.MaxEntries)
        {
            throw new UnsafePluginArchiveException(archive, string.Empty, $"the archive has more than {limits.MaxEntries} entries (Trac:PluginCache:MaxEntries)");
        }

        source.Position = 0;
        using var zip = new ZipArchive(source, ZipArchiveMode.Read);
        var temporary = Path.Combine(Path.GetDirectoryName(folder)!, $"{PluginExtractor.TemporaryPrefix}{Guid.NewGuid():N}");
        var entries = PluginArchiveValidator.Validate(zip, archive, source.Length, temporary, limits);

        if (Directory.Exists(folder))
        {
            // No marker (checked under the lock): an extraction that did not finish. Cleaned, then redone.
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(temporary);
        try
        {
            long total = 0;
            var buffer = new byte[81920];
            foreach (var (entry, relative, isDirectory) in entries)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var target = Path.Combine(temporary, relative.Replace('/', Path.DirectorySeparatorChar));
                if (isDirectory)
                {
                    Directory.CreateDirectory(target);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                // A regular file whatever the entry's attributes say: no symbolic links, no set-uid or executable bits.
                using var entryStream = entry.Open();
                using var destination = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                long written = 0;
                uint crc = 0;
                int read;
                while ((read = entryStream.Read(buffer, 0, buffer.Length)) > 0)
                {
                    written += read;
                    total += read;
                    if (written > entry.Length || total > limits.MaxTotalSize)
                    {
                        throw new UnsafePluginArchiveException(archive, entry.FullName, "it expands beyond the size it declares");
                    }

                    crc = ZipCrc32.Append(crc, buffer.AsSpan(0, read));
                    destination.Write(buffer, 0, read);
                }

                if (written != entry.Length || crc != entry.Crc32)
                {
                    // A declared size smaller than the data cuts it short silently; the checksum tells.
                    throw new InvalidDataException($"The plugin archive '{archive}' is corrupt: its entry '{entry.FullName}' does not match its checksum or size.");
                }

                // On disk before the marker says the folder is complete.
                destination.Flush(flushToDisk: true);
            }

            using (var marker = new FileStream(Path.Combine(temporary, PluginExtractor.MarkerName), FileMode.CreateNew, FileAccess.Write))
            {
                marker.Write(System.Text.Encoding.UTF8.GetBytes($"sha256={hash}\nentries={entries.Count}\n"));
                marker.Flush(flushToDisk: true);
            }

            Directory.Move(temporary, folder);
        }
        catch
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the stale clean-up: a temporary folder never counts as an extracted plugin.
        }
    }
}
