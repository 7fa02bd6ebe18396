using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Trac.Hosting.Diagnostics;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Extracts plugin archives into content-addressed folders of a cache directory: <c>&lt;name&gt;-&lt;hash&gt;</c>,
/// complete only with its marker file. Extraction happens once across threads (a keyed lock) and processes (a lock
/// file), into a temporary folder that is renamed into place after the marker is written, so a reader never sees a
/// half-extracted plugin and a crash leaves nothing that looks complete.
/// </summary>
internal sealed class PluginExtractor
{
    /// <summary>The file written last into a completely extracted folder.</summary>
    public const string MarkerName = ".trac-plugin-complete";

    /// <summary>The start of temporary extraction folders' names.</summary>
    public const string TemporaryPrefix = ".tmp-";

    // One gate per target folder for the whole process, shared by every pipeline and host in it.
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> s_gates = new(StringComparer.Ordinal);

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

    /// <summary>Returns the folder name for an archive: its name made file-system safe, and 16 digits of its hash.</summary>
    public static string FolderName(string name, string hash)
    {
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_').Take(64).ToArray()).Trim('.');
        return $"{(safe.Length == 0 ? "plugin" : safe)}-{hash[..16]}";
    }

    /// <summary>
    /// Returns the plugin for <paramref name="archive"/> in <paramref name="cacheDirectory"/>, extracting it first
    /// unless a complete folder for the same content is already there.
    /// </summary>
    /// <exception cref="UnsafePluginArchiveException">An entry is unsafe; nothing was written.</exception>
    /// <exception cref="InvalidDataException">The archive is not a valid zip file.</exception>
    /// <exception cref="IOException">Reading or writing failed after the retries.</exception>
    public async Task<(TracPlugin Plugin, bool Extracted)> EnsureAsync(string archive, string cacheDirectory, CancellationToken cancellationToken)
    {
        var name = Path.GetFileNameWithoutExtension(archive);
        byte[]? content = null;
        var stamp = Stamp(archive);
        if (!_hashes.TryGetValue(stamp, out var hash))
        {
            // Hashed and extracted from the same bytes, so the folder's name always matches what is in it.
            content = await ReadAsync(archive, cancellationToken);
            hash = Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant();
            _hashes[stamp] = hash;
        }

        var folder = Path.Combine(cacheDirectory, FolderName(name, hash));
        var plugin = new TracPlugin(name, archive, folder, hash);
        if (File.Exists(Path.Combine(folder, MarkerName)))
        {
            return (plugin, false);
        }

        var gate = s_gates.GetOrAdd(folder, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            await using var fileLock = await AcquireFileLockAsync(folder + ".lock", cancellationToken);
            if (File.Exists(Path.Combine(folder, MarkerName)))
            {
                return (plugin, false);
            }

            content ??= await ReadAsync(archive, cancellationToken);
            if (!Convert.ToHexString(SHA256.HashData(content)).ToLowerInvariant().Equals(hash, StringComparison.Ordinal))
            {
                throw new IOException($"The plugin archive '{archive}' changed while it was being read; it is read again on the next change.");
            }

            await _pipeline.ExecuteAsync(
                static (state, _) =>
                {
                    state.Self.BeforeExtract?.Invoke(state.Archive);
                    state.Self.Extract(state.Content, state.Archive, state.Folder, state.Hash);
                    return ValueTask.CompletedTask;
                },
                (Self: this, Content: content, Archive: archive, Folder: folder, Hash: hash),
                cancellationToken);
            Log.PluginExtracted(_logger, archive, folder);
            return (plugin, true);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Returns the SHA-256 of an archive (remembered by path, size and time stamp).</summary>
    public string HashOf(string archive)
    {
        var stamp = Stamp(archive);
        if (!_hashes.TryGetValue(stamp, out var hash))
        {
            using var stream = File.OpenRead(archive);
            hash = Convert.ToHexString(SHA256.HashData(stream)).ToLowerInvariant();
            _hashes[stamp] = hash;
        }

        return hash;
    }

    /// <summary>Returns whether <paramref name="folder"/> is complete (has its marker).</summary>
    public static bool IsComplete(string folder) => File.Exists(Path.Combine(folder, MarkerName));

    /// <summary>Tries to take a folder's lock file without waiting; <see langword="null"/> when someone holds it.</summary>
    public static FileStream? TryLock(string folder)
    {
        try
        {
            return new FileStream(folder + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }

    private void Extract(byte[] content, string archive, string folder, string hash)
    {
        using var zip = new ZipArchive(new MemoryStream(content, writable: false), ZipArchiveMode.Read);
        var temporary = Path.Combine(Path.GetDirectoryName(folder)!, $"{TemporaryPrefix}{Path.GetFileName(folder)}-{Guid.NewGuid():N}");
        var entries = PluginArchiveValidator.Validate(zip, archive, temporary, _limits);

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
                var target = Path.Combine(temporary, relative.Replace('/', Path.DirectorySeparatorChar));
                if (isDirectory)
                {
                    Directory.CreateDirectory(target);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                // A regular file whatever the entry's attributes say: no symbolic links, no set-uid or executable bits.
                using var source = entry.Open();
                using var destination = new FileStream(target, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                long written = 0;
                int read;
                while ((read = source.Read(buffer, 0, buffer.Length)) > 0)
                {
                    written += read;
                    total += read;
                    if (written > entry.Length || total > _limits.MaxTotalSize)
                    {
                        throw new UnsafePluginArchiveException(archive, entry.FullName, "it expands beyond the size it declares");
                    }

                    destination.Write(buffer, 0, read);
                }
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

    private async Task<byte[]> ReadAsync(string archive, CancellationToken cancellationToken)
    {
        var length = new FileInfo(archive).Length;
        if (length > _limits.MaxTotalSize)
        {
            throw new UnsafePluginArchiveException(archive, string.Empty, $"the archive is larger than {_limits.MaxTotalSize} bytes (Trac:PluginCache:MaxTotalSize)");
        }

        return await File.ReadAllBytesAsync(archive, cancellationToken);
    }

    private async Task<FileStream> AcquireFileLockAsync(string path, CancellationToken cancellationToken)
    {
        var started = _timeProvider.GetTimestamp();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (_timeProvider.GetElapsedTime(started) < _lockTimeout)
            {
                // Another process is extracting the same archive: wait for it, then use its result.
                await Task.Delay(TimeSpan.FromMilliseconds(50), _timeProvider, cancellationToken);
            }
        }
    }

    private static (string, long, DateTime) Stamp(string path)
    {
        var info = new FileInfo(path);
        return (path, info.Length, info.LastWriteTimeUtc);
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
