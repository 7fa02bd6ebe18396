using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Extracts plugin archives into content-addressed folders of a cache directory: <c>&lt;name&gt;-&lt;sha256&gt;</c>,
/// complete only with its marker file. Extraction happens once across threads (a keyed lock) and processes (a lock
/// file), from a private copy of the archive into a temporary folder that is renamed into place after the marker is
/// written, so a reader never sees a half-extracted plugin and a crash leaves nothing that looks complete. What a crash
/// does leave (temporary names, lock files of no folder) the stale clean-up removes once old.
/// </summary>
internal sealed class PluginExtractor
{
    /// <summary>The file written last into a completely extracted folder.</summary>
    public const string MarkerName = ".trac-plugin-complete";

    /// <summary>The start of temporary names (extraction folders, archive copies, folders being deleted).</summary>
    public const string TemporaryPrefix = ".tmp-";

    /// <summary>The end of a lock file's name, after the name of the folder it guards.</summary>
    public const string LockSuffix = ".lock";

    /// <summary>How old a temporary name or an unused lock file must be for the clean-up to remove it: far longer than an extraction takes.</summary>
    public static readonly TimeSpan StaleAge = TimeSpan.FromHours(1);

    // Gates for the whole process, shared by every pipeline and host in it, striped by target folder so their
    // number stays bounded however many plugins come and go.
    private static readonly SemaphoreSlim[] s_gates = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    private readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> _hashes = new();
    private readonly PluginArchiveLimits _limits;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _lockTimeout;
    private readonly ILogger _logger;

    public PluginExtractor(
        PluginArchiveLimits limits, Action<ResiliencePipelineBuilder>? configurePipeline, TimeProvider timeProvider, TimeSpan lockTimeout, ILogger logger)
    {
        _limits = limits;
        _pipeline = CreatePipeline(timeProvider, configurePipeline);
        _timeProvider = timeProvider;
        _lockTimeout = lockTimeout;
        _logger = logger;
    }

    /// <summary>Called inside the resilience pipeline before each extraction attempt (a seam for fault-injection tests).</summary>
    internal Action<string>? BeforeExtract { get; set; }

    /// <summary>
    /// Builds the extraction pipeline: the host's, or by default three retries of <see cref="IOException"/> with
    /// jittered exponential back-off. An unsafe archive is not an <see cref="IOException"/>, so it is never retried.
    /// </summary>
    public static ResiliencePipeline CreatePipeline(TimeProvider timeProvider, Action<ResiliencePipelineBuilder>? configure)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider };
        if (configure is not null)
        {
            configure(builder);
            return builder.Build();
        }

        return builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<IOException>(),
                MaxRetryAttempts = 3,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
            })
            .Build();
    }

    /// <summary>
    /// Returns the folder name for an archive: its name made file-system safe, and its whole SHA-256, so that no two
    /// contents can share a folder (a shortened hash could be made to collide).
    /// </summary>
    public static string FolderName(string name, string hash)
    {
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').Take(64).ToArray()).Trim('.');
        return $"{(safe.Length == 0 ? "plugin" : safe)}-{hash}";
    }

    /// <summary>Returns whether <paramref name="folder"/> is complete (has its marker).</summary>
    public static bool IsComplete(string folder) => File.Exists(Path.Combine(folder, MarkerName));

    /// <summary>Tries to take a folder's lock file without waiting; <see langword="null"/> when someone holds it.</summary>
    public static FileStream? TryLock(string folder)
    {
        try
        {
            var fileLock = new FileStream(folder + LockSuffix, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            if (fileLock.Length == 0)
            {
                return fileLock;
            }

            // Retired (see RetireLock) while this was opening it: not the lock any more.
            fileLock.Dispose();
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>
    /// Releases a lock and deletes its file, for a folder that is not to be made (a refused archive) or is gone. On
    /// Unix, where taking a lock is opening the file and then locking it, the file is deleted while still held, then
    /// marked by making it non-empty: a waiter that opened it just before the deletion sees the mark once it gets the
    /// lock and opens the path again, so two processes never hold one lock each. On Windows opening is locking, so
    /// the file is released first and then deleted, unless someone took it meanwhile.
    /// </summary>
    public static void RetireLock(FileStream fileLock)
    {
        var path = fileLock.Name;
        try
        {
            if (OperatingSystem.IsWindows())
            {
                fileLock.Dispose();
                File.Delete(path);
                return;
            }

            File.Delete(path);
            fileLock.WriteByte(1);
            fileLock.Flush();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Kept: a lock file that stays is harmless, and the clean-up tries again.
        }
        finally
        {
            fileLock.Dispose();
        }
    }

    /// <summary>
    /// Removes from a cache directory what extractions that did not finish (a process killed meanwhile) left there,
    /// once older than <see cref="StaleAge"/>: temporary files such as private copies of archives, unless open (an
    /// extraction holds its copy open while writing and reading it), and lock files of folders that do not exist,
    /// unless held. Temporary folders are left to the caller, which removes them like extracted folders.
    /// </summary>
    public void RemoveLeftovers(string cacheDirectory)
    {
        var now = _timeProvider.GetUtcNow();
        foreach (var file in Directory.EnumerateFiles(cacheDirectory))
        {
            var name = Path.GetFileName(file);
            try
            {
                if (now - File.GetLastWriteTimeUtc(file) <= StaleAge)
                {
                    continue;
                }

                if (name.EndsWith(LockSuffix, StringComparison.Ordinal))
                {
                    var folder = file[..^LockSuffix.Length];
                    if (!Directory.Exists(folder) && TryLock(folder) is { } orphan)
                    {
                        // Checked again under the lock: only its holder makes the folder.
                        if (Directory.Exists(folder))
                        {
                            orphan.Dispose();
                        }
                        else
                        {
                            RetireLock(orphan);
                        }
                    }
                }
                else if (name.StartsWith(TemporaryPrefix, StringComparison.Ordinal))
                {
                    // Opens only if no one else has it open; deleted when closed.
                    using (new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.None, 1, FileOptions.DeleteOnClose))
                    {
                    }

                    PluginCacheLog.PluginLeftoverRemoved(_logger, file);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // In use, or gone meanwhile: looked at again by the next clean-up.
            }
        }
    }

    /// <summary>
    /// Returns the plugin for <paramref name="archive"/> in <paramref name="cacheDirectory"/>, extracting it first
    /// unless a complete folder for the same content is already there.
    /// </summary>
    /// <param name="archive">The plugin archive.</param>
    /// <param name="cacheDirectory">The cache directory.</param>
    /// <param name="cancellationToken">Cancels waiting and extracting.</param>
    /// <param name="pin">Called with the folder as soon as it is known, before it is looked at, so that a clean-up
    /// spares it.</param>
    /// <exception cref="UnsafePluginArchiveException">An entry is unsafe or a limit is exceeded; nothing was written.</exception>
    /// <exception cref="InvalidDataException">The archive is not a valid zip file.</exception>
    /// <exception cref="IOException">Reading or writing failed after the retries.</exception>
    public async Task<(TracPlugin Plugin, bool Extracted)> EnsureAsync(
        string archive, string cacheDirectory, CancellationToken cancellationToken, Action<string>? pin = null)
    {
        var name = Path.GetFileNameWithoutExtension(archive);
        var hash = await HashAsync(archive, copyTo: null, cancellationToken);
        var folder = Path.Combine(cacheDirectory, FolderName(name, hash));
        pin?.Invoke(folder);
        if (IsComplete(folder))
        {
            return (new TracPlugin(name, archive, folder, hash), false);
        }

        var gate = s_gates[(int)((uint)StringComparer.Ordinal.GetHashCode(folder) % (uint)s_gates.Length)];
        await gate.WaitAsync(cancellationToken);
        FileStream? fileLock = null;
        var refused = false;
        try
        {
            fileLock = await AcquireFileLockAsync(folder + LockSuffix, cancellationToken);
            if (IsComplete(folder))
            {
                return (new TracPlugin(name, archive, folder, hash), false);
            }

            // Extracted from a private copy, hashed while copying, so the folder's name always matches what is in it
            // even if the archive is replaced meanwhile.
            var copy = Path.Combine(cacheDirectory, $"{TemporaryPrefix}{Guid.NewGuid():N}.zip");
            try
            {
                var copied = await HashAsync(archive, copy, cancellationToken);
                if (!copied.Equals(hash, StringComparison.Ordinal))
                {
                    throw new IOException($"The plugin archive '{archive}' changed while it was being read; it is read again on the next change.");
                }

                var extracted = await _pipeline.ExecuteAsync(
                    static (state, token) =>
                    {
                        // Re-checked on every attempt: a retry must never undo a complete folder.
                        if (IsComplete(state.Folder))
                        {
                            return ValueTask.FromResult(false);
                        }

                        state.Self.BeforeExtract?.Invoke(state.Archive);
                        state.Self.Extract(state.Copy, state.Archive, state.Folder, state.Hash, token);
                        return ValueTask.FromResult(true);
                    },
                    (Self: this, Copy: copy, Archive: archive, Folder: folder, Hash: hash),
                    cancellationToken);
                if (extracted)
                {
                    PluginCacheLog.PluginExtracted(_logger, archive, folder);
                }

                return (new TracPlugin(name, archive, folder, hash), extracted);
            }
            finally
            {
                File.Delete(copy);
            }
        }
        catch (Exception e) when (e is UnsafePluginArchiveException or InvalidDataException)
        {
            // Refused until the archive (or the limits) change: no folder comes of this lock, so its file is not left behind.
            refused = true;
            throw;
        }
        finally
        {
            if (fileLock is not null)
            {
                if (refused)
                {
                    RetireLock(fileLock);
                }
                else
                {
                    await fileLock.DisposeAsync();
                }
            }

            gate.Release();
        }
    }

    /// <summary>Returns the SHA-256 of an archive, remembered by path, size and time stamp (for the clean-up only).</summary>
    public string HashOf(string archive)
    {
        var info = new FileInfo(archive);
        var stamp = (archive, info.Length, info.LastWriteTimeUtc);
        if (!_hashes.TryGetValue(stamp, out var hash))
        {
            hash = HashAsync(archive, copyTo: null, CancellationToken.None).GetAwaiter().GetResult();
            _hashes[stamp] = hash;
        }

        return hash;
    }

    private void Extract(string copy, string archive, string folder, string hash, CancellationToken cancellationToken)
    {
        using var source = new FileStream(copy, FileMode.Open, FileAccess.Read, FileShare.Read);
        // The entry count comes from the end record, before the whole central directory is parsed into memory.
        if (ZipEndRecord.ReadEntryCount(source) is { } count && count > _limits.MaxEntries)
        {
            throw new UnsafePluginArchiveException(archive, string.Empty, $"the archive has more than {_limits.MaxEntries} entries (Trac:PluginCache:MaxEntries)");
        }

        source.Position = 0;
        using var zip = new ZipArchive(source, ZipArchiveMode.Read);
        var temporary = Path.Combine(Path.GetDirectoryName(folder)!, $"{TemporaryPrefix}{Guid.NewGuid():N}");
        var entries = PluginArchiveValidator.Validate(zip, archive, source.Length, temporary, _limits);

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
                    if (written > entry.Length || total > _limits.MaxTotalSize)
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

            using (var marker = new FileStream(Path.Combine(temporary, MarkerName), FileMode.CreateNew, FileAccess.Write))
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

    // Streams the archive through SHA-256 (and into a copy when asked), refusing it past the size limit.
    private async Task<string> HashAsync(string archive, string? copyTo, CancellationToken cancellationToken)
    {
        await using var source = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
        var tooLarge = $"the archive is larger than {_limits.MaxArchiveSize} bytes (Trac:PluginCache:MaxArchiveSize)";
        if (source.Length > _limits.MaxArchiveSize)
        {
            throw new UnsafePluginArchiveException(archive, string.Empty, tooLarge);
        }

        await using var copy = copyTo is null ? null : new FileStream(copyTo, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += read;
            if (total > _limits.MaxArchiveSize)
            {
                // It grew while being read.
                throw new UnsafePluginArchiveException(archive, string.Empty, tooLarge);
            }

            hash.AppendData(buffer, 0, read);
            if (copy is not null)
            {
                await copy.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }

        return Convert.ToHexString(hash.GetHashAndReset()).ToLowerInvariant();
    }

    private async Task<FileStream> AcquireFileLockAsync(string path, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        while (true)
        {
            FileStream? fileLock = null;
            try
            {
                fileLock = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (e is not (DirectoryNotFoundException or FileNotFoundException or PathTooLongException) &&
                _timeProvider.GetElapsedTime(started) < _lockTimeout)
            {
                // Another process is extracting the same archive: wait for it, then use its result.
            }

            if (fileLock is not null)
            {
                if (fileLock.Length == 0)
                {
                    return fileLock;
                }

                // Retired (see RetireLock) while this was opening it: the path names another file now, or none.
                await fileLock.DisposeAsync();
                if (_timeProvider.GetElapsedTime(started) >= _lockTimeout)
                {
                    throw new IOException(
                        $"The lock file '{path}' is not empty, so it is not a lock this plugin cache made: delete it, and the archive is extracted again.");
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), _timeProvider, cancellationToken);
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
