using System.Collections.Concurrent;
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
/// does leave (temporary names, lock files of no folder) the stale clean-up (<see cref="StalePluginCleanup"/>) removes once old.
/// </summary>
internal sealed class PluginExtractor
{
    /// <summary>The file written last into a completely extracted folder.</summary>
    public const string MarkerName = ".trac-plugin-complete";

    /// <summary>The start of temporary names (extraction folders, archive copies, folders being deleted).</summary>
    public const string TemporaryPrefix = ".tmp-";

    // Gates for the whole process, shared by every pipeline and host in it, striped by target folder so their
    // number stays bounded however many plugins come and go.
    private static readonly SemaphoreSlim[] s_gates = Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1)).ToArray();

    private readonly ConcurrentDictionary<(string Path, long Length, DateTime Written), string> _hashes = new();
    private readonly PluginArchiveLimits _limits;
    private readonly ResiliencePipeline _pipeline;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _lockTimeout;
    private readonly ILogger _logger;
    private readonly TracMetrics? _metrics;

    public PluginExtractor(
        PluginArchiveLimits limits, Action<ResiliencePipelineBuilder>? configurePipeline, TimeProvider timeProvider, TimeSpan lockTimeout, ILogger logger,
        TracMetrics? metrics = null)
    {
        _metrics = metrics;
        _limits = limits;
        _pipeline = CreatePipeline(timeProvider, configurePipeline);
        _timeProvider = timeProvider;
        _lockTimeout = lockTimeout;
        _logger = logger;
    }

    /// <summary>Called inside the resilience pipeline before each extraction attempt, for (fault-injection) tests.</summary>
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
        long? extracting = null;
        System.Diagnostics.Activity? activity = null;
        try
        {
            fileLock = await PluginFolderLock.AcquireAsync(folder, _timeProvider, _lockTimeout, cancellationToken);
            if (IsComplete(folder))
            {
                return (new TracPlugin(name, archive, folder, hash), false);
            }

            // Extracted from a private copy, hashed while copying, so the folder's name always matches what is in it
            // even if the archive is replaced meanwhile.
            var copy = Path.Combine(cacheDirectory, $"{TemporaryPrefix}{Guid.NewGuid():N}.zip");
            extracting = _timeProvider.GetTimestamp();
            activity = TracActivities.Source.StartActivity(TracActivities.PluginExtract);
            activity?.SetTag(TracActivities.PluginTag, name);
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
                        PluginArchiveUnpacker.Unpack(state.Copy, state.Archive, state.Folder, state.Hash, state.Self._limits, token);
                        return ValueTask.FromResult(true);
                    },
                    (Self: this, Copy: copy, Archive: archive, Folder: folder, Hash: hash),
                    cancellationToken);
                if (extracted)
                {
                    PluginCacheLog.PluginExtracted(_logger, archive, folder);
                    Count(extracting, TracMetrics.ExtractionResults.Extracted);
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
            TracActivities.Fail(activity, e);
            Count(extracting, TracMetrics.ExtractionResults.Refused);
            throw;
        }
        catch (Exception e) when (extracting is not null && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            TracActivities.Fail(activity, e);
            Count(extracting, TracMetrics.ExtractionResults.Failed);
            throw;
        }
        finally
        {
            activity?.Dispose();
            if (fileLock is not null)
            {
                if (refused)
                {
                    PluginFolderLock.Retire(fileLock);
                }
                else
                {
                    await fileLock.DisposeAsync();
                }
            }

            gate.Release();
        }
    }

    /// <summary>Counts an extraction that was tried (from <paramref name="started"/>; <see langword="null"/>: it never began), by result.</summary>
    private void Count(long? started, KeyValuePair<string, object?> result)
    {
        if (_metrics is null || started is not { } from)
        {
            return;
        }

        _metrics.Extractions.Add(1, result);
        _metrics.ExtractionDuration.Record(_timeProvider.GetElapsedTime(from).TotalSeconds, result);
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
}
