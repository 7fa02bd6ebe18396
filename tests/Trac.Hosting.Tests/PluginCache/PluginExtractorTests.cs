using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>Extraction into content-addressed folders: atomic, once across threads and processes, shared by content.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PluginExtractorTests : IDisposable
{
    private static readonly PluginArchiveLimits Limits = new(10_000, 64L * 1024 * 1024, 1000);
    private readonly TracTestDirectory _directory = new();
    private readonly string _cache;

    public PluginExtractorTests()
    {
        _cache = _directory.CreateDirectory("cache");
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Archive_IsExtractedToItsContentFolderWithAMarker()
    {
        var archive = Archive("Tracker", ("lib/Tracker.dll", "binary"), ("content/site.css", "body{}"));

        var (plugin, extracted) = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);

        Assert.True(extracted);
        Assert.Equal("Tracker", plugin.Name);
        Assert.Equal(archive, plugin.SourceArchive);
        Assert.Matches("^[0-9a-f]{64}$", plugin.ContentHash);
        Assert.Equal(Path.Combine(_cache, "Tracker-" + plugin.ContentHash), plugin.Directory);
        Assert.Equal("binary", File.ReadAllText(Path.Combine(plugin.Directory, "lib", "Tracker.dll")));
        Assert.Equal("body{}", File.ReadAllText(Path.Combine(plugin.Directory, "content", "site.css")));
        Assert.True(PluginExtractor.IsComplete(plugin.Directory));
        Assert.DoesNotContain(Directory.EnumerateDirectories(_cache), d => Path.GetFileName(d).StartsWith(".tmp-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CompleteFolder_IsReusedWithoutExtracting()
    {
        var archive = Archive("p", ("a.txt", "a"));
        var extractor = Extractor();
        var first = await extractor.EnsureAsync(archive, _cache, CancellationToken.None);

        var second = await extractor.EnsureAsync(archive, _cache, CancellationToken.None);
        var otherInstance = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);

        Assert.True(first.Extracted);
        Assert.False(second.Extracted);
        Assert.False(otherInstance.Extracted);
        Assert.Equal(first.Plugin.Directory, otherInstance.Plugin.Directory);
    }

    [Fact]
    public async Task SameArchiveInManyEnvironments_IsExtractedOnce()
    {
        var extractor = Extractor();
        var results = new List<(TracPlugin Plugin, bool Extracted)>();
        // One archive copied into fifty environments (written anew each time, its entries' time stamps could differ).
        var original = TracPluginArchive.Write(Path.Combine(_directory.Path, "Shared.zip"), ("lib/Shared.dll", "same bytes"));
        for (var i = 0; i < 50; i++)
        {
            var archive = Path.Combine(_directory.Path, $"env{i}", "plugins", "Shared.zip");
            Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
            File.Copy(original, archive);
            results.Add(await extractor.EnsureAsync(archive, _cache, CancellationToken.None));
        }

        Assert.Single(results, r => r.Extracted);
        Assert.Single(results.Select(r => r.Plugin.Directory).Distinct());
        Assert.Single(Directory.EnumerateDirectories(_cache));
    }

    [Fact]
    public async Task ChangedContent_GetsANewFolder()
    {
        var archive = Archive("p", ("a.txt", "one"));
        var first = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);
        Archive("p", ("a.txt", "two"));

        var second = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);

        Assert.NotEqual(first.Plugin.Directory, second.Plugin.Directory);
        Assert.Equal("two", File.ReadAllText(Path.Combine(second.Plugin.Directory, "a.txt")));
        Assert.Equal("one", File.ReadAllText(Path.Combine(first.Plugin.Directory, "a.txt")));
    }

    [Fact]
    public async Task FolderWithoutMarker_IsCleanedAndRedone()
    {
        var archive = Archive("p", ("a.txt", "real"));
        var (plugin, _) = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);
        // A crash in the middle of an extraction, as another tool could leave it.
        File.Delete(Path.Combine(plugin.Directory, PluginExtractor.MarkerName));
        File.WriteAllText(Path.Combine(plugin.Directory, "a.txt"), "half");
        File.WriteAllText(Path.Combine(plugin.Directory, "junk.txt"), "left over");

        var again = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);

        Assert.True(again.Extracted);
        Assert.Equal("real", File.ReadAllText(Path.Combine(plugin.Directory, "a.txt")));
        Assert.False(File.Exists(Path.Combine(plugin.Directory, "junk.txt")));
        Assert.True(PluginExtractor.IsComplete(plugin.Directory));
    }

    [Fact]
    public async Task UnsafeArchive_WritesNothingAnywhere()
    {
        var archive = Archive("evil", ("good.txt", "fine"), ("../cache-evil/x", "escaped"));
        var before = Snapshot(_directory.Path);

        var error = await Assert.ThrowsAsync<UnsafePluginArchiveException>(() => Extractor().EnsureAsync(archive, _cache, CancellationToken.None));

        Assert.Contains("../cache-evil/x", error.Message, StringComparison.Ordinal);
        // No plugin folder, no temporary folder or copy, no lock file, nothing outside the cache.
        Assert.Equal(before, Snapshot(_directory.Path));
    }

    [Fact]
    public async Task EntriesSharingOneCompressedBlock_AreRefusedBeforeAnythingIsWritten()
    {
        var archive = SharedBlockArchive.Write(Path.Combine(_directory.Path, "plugins", "shared.zip"), 2_500);
        var extractor = new PluginExtractor(new(10_000, 256L * 1024 * 1024, 100), null, TimeProvider.System, TimeSpan.FromSeconds(30), NullLogger.Instance);

        var error = await Assert.ThrowsAsync<UnsafePluginArchiveException>(() => extractor.EnsureAsync(archive, _cache, CancellationToken.None));

        Assert.Contains("the archive as a whole is compressed more than 100:1", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache));
    }

    [Fact]
    public async Task LockFileThatIsNotEmpty_IsNeverTakenAsTheLock()
    {
        // A lock file its last holder deleted and marked; a waiter that opened it just before the deletion must
        // not take it as the lock, since the path may already name another one.
        var archive = Archive("p", ("a.txt", "a"));
        var time = new FakeTimeProvider();
        var extractor = new PluginExtractor(Limits, null, time, TimeSpan.FromSeconds(5), NullLogger.Instance);
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(archive))).ToLowerInvariant();
        var folder = Path.Combine(_cache, PluginExtractor.FolderName("p", hash));
        File.WriteAllBytes(folder + ".lock", [1]);

        var extracting = extractor.EnsureAsync(archive, _cache, CancellationToken.None);
        var error = await Assert.ThrowsAsync<IOException>(() => time.AdvanceUntilAsync(extracting, TimeSpan.FromMilliseconds(50)));

        Assert.Contains($"The lock file '{folder}.lock' is not empty", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public async Task ArchiveLyingAboutItsSize_IsStoppedWhileExpanding()
    {
        // The entry declares 100 bytes but expands to 5,000: the declared sizes pass every limit, the bytes written do not.
        var archive = Archive("p", ("a.bin", RandomText(5000)));
        PatchDeclaredSize(archive, "a.bin", 100);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Extractor().EnsureAsync(archive, _cache, CancellationToken.None));

        Assert.True(error is UnsafePluginArchiveException or InvalidDataException, error.ToString());
        // Neither a folder nor a temporary folder or copy, nor the lock file.
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache));
    }

    [Fact]
    public async Task SymlinkAndSetuidEntries_AreWrittenAsPlainFiles()
    {
        var archive = Path.Combine(_directory.Path, "plugins", "attrs.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
        using (var zip = System.IO.Compression.ZipFile.Open(archive, System.IO.Compression.ZipArchiveMode.Create))
        {
            var link = zip.CreateEntry("link");
            link.ExternalAttributes = Convert.ToInt32("120777", 8) << 16;
            using (var writer = new StreamWriter(link.Open()))
            {
                writer.Write("/etc/passwd");
            }

            var setuid = zip.CreateEntry("tool");
            setuid.ExternalAttributes = Convert.ToInt32("104755", 8) << 16;
            using (var writer = new StreamWriter(setuid.Open()))
            {
                writer.Write("#!/bin/sh");
            }
        }

        var (plugin, _) = await Extractor().EnsureAsync(archive, _cache, CancellationToken.None);

        var link2 = new FileInfo(Path.Combine(plugin.Directory, "link"));
        Assert.Null(link2.LinkTarget);
        Assert.Equal("/etc/passwd", File.ReadAllText(link2.FullName));
        var mode = File.GetUnixFileMode(Path.Combine(plugin.Directory, "tool"));
        Assert.Equal((UnixFileMode)0, mode & (UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute));
    }

    [Fact]
    public async Task ArchiveLargerThanMaxArchiveSize_IsNotRead()
    {
        var archive = Archive("big", ("a.bin", RandomText(50_000)));
        var extractor = new PluginExtractor(Limits with { MaxArchiveSize = 10_000 }, null, TimeProvider.System, TimeSpan.FromSeconds(5), NullLogger.Instance);

        var error = await Assert.ThrowsAsync<UnsafePluginArchiveException>(() => extractor.EnsureAsync(archive, _cache, CancellationToken.None));

        Assert.Contains("larger than 10000 bytes (Trac:PluginCache:MaxArchiveSize)", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache));
    }

    [Fact]
    public async Task TooManyEntries_AreRefusedFromTheEndRecord()
    {
        var archive = Archive("many", Enumerable.Range(0, 50).Select(i => ($"f{i}", "x")).ToArray());
        using (var stream = File.OpenRead(archive))
        {
            Assert.Equal(50, ZipEndRecord.ReadEntryCount(stream));
        }

        var extractor = new PluginExtractor(Limits with { MaxEntries = 10 }, null, TimeProvider.System, TimeSpan.FromSeconds(5), NullLogger.Instance);

        var error = await Assert.ThrowsAsync<UnsafePluginArchiveException>(() => extractor.EnsureAsync(archive, _cache, CancellationToken.None));
        Assert.Contains("more than 10 entries", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeletedFolderLockFile_OrCache_DoNotHang()
    {
        var archive = Archive("p", ("a.txt", "a"));
        var gone = Path.Combine(_directory.Path, "gone-cache");

        var error = await Assert.ThrowsAnyAsync<IOException>(() => Extractor().EnsureAsync(archive, gone, CancellationToken.None));

        Assert.IsAssignableFrom<DirectoryNotFoundException>(error);
    }

    [Fact]
    public async Task CorruptArchive_FailsWithoutRetryOrLeftovers()
    {
        var archive = Path.Combine(_directory.Path, "plugins", "broken.zip");
        Directory.CreateDirectory(Path.GetDirectoryName(archive)!);
        File.WriteAllText(archive, "this is not a zip file");
        var attempts = 0;
        var extractor = Extractor();
        extractor.BeforeExtract = _ => attempts++;

        await Assert.ThrowsAsync<InvalidDataException>(() => extractor.EnsureAsync(archive, _cache, CancellationToken.None));

        Assert.Equal(1, attempts);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cache));
    }

    [Fact]
    public async Task TransientIOException_IsRetriedByTheHostsPipeline()
    {
        var archive = Archive("p", ("a.txt", "a"));
        var retries = 0;
        var extractor = new PluginExtractor(Limits, builder => builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<IOException>(),
            MaxRetryAttempts = 2,
            Delay = TimeSpan.Zero,
            OnRetry = _ =>
            {
                retries++;
                return ValueTask.CompletedTask;
            },
        }), TimeProvider.System, TimeSpan.FromSeconds(5), NullLogger.Instance);
        var attempts = 0;
        extractor.BeforeExtract = _ =>
        {
            if (++attempts == 1)
            {
                throw new IOException("The disk hiccuped.");
            }
        };

        var (plugin, extracted) = await extractor.EnsureAsync(archive, _cache, CancellationToken.None);

        Assert.True(extracted);
        Assert.Equal(2, attempts);
        Assert.Equal(1, retries);
        Assert.True(PluginExtractor.IsComplete(plugin.Directory));
    }

    [Fact]
    public async Task DefaultPipeline_RetriesIOExceptionButNotUnsafeArchives()
    {
        var time = new FakeTimeProvider();
        var pipeline = PluginExtractor.CreatePipeline(time, null);
        var attempts = 0;

        var unsafeTask = Task.Run(() => pipeline.Execute(() =>
        {
            attempts++;
            throw new UnsafePluginArchiveException("a.zip", "../x", "test");
        }));
        await Assert.ThrowsAsync<UnsafePluginArchiveException>(() => unsafeTask);
        Assert.Equal(1, attempts);

        var ioAttempts = 0;
        var retried = Task.Run(() => pipeline.ExecuteAsync(_ =>
        {
            if (++ioAttempts < 3)
            {
                throw new IOException("transient");
            }

            return ValueTask.CompletedTask;
        }).AsTask());
        while (!retried.IsCompleted)
        {
            // The back-off runs on the manual clock: move it until the third attempt succeeds.
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Yield();
        }

        await retried;
        Assert.Equal(3, ioAttempts);
    }

    [Fact]
    public void ConcurrentThreads_ExtractOnce()
    {
        var archive = Archive("p", Enumerable.Range(0, 200).Select(i => ($"f{i}.txt", RandomText(2000))).ToArray());
        var extractor = Extractor();
        const int Threads = 8;
        using var barrier = new Barrier(Threads);
        var results = new (TracPlugin Plugin, bool Extracted)[Threads];

        // Dedicated threads released together, so that they really race for the same folder.
        var threads = Enumerable.Range(0, Threads).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait();
            results[i] = extractor.EnsureAsync(archive, _cache, CancellationToken.None).GetAwaiter().GetResult();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.Single(results, r => r.Extracted);
        Assert.Single(results.Select(r => r.Plugin.Directory).Distinct());
        Assert.Equal(200, Directory.EnumerateFiles(results[0].Plugin.Directory).Count(f => Path.GetFileName(f).StartsWith('f')));
    }

    [Fact]
    public async Task TwoProcessesStartingTogether_ExtractOnceAndBothUseIt()
    {
        var archive = Archive("shared", Enumerable.Range(0, 400).Select(i => ($"lib/f{i}.txt", new string((char)('a' + (i % 26)), 4000))).ToArray());
        var processes = Enumerable.Range(0, 2).Select(_ => StartHelper(archive)).ToArray();
        try
        {
            foreach (var process in processes)
            {
                Assert.Equal("ready", await ReadLineAsync(process));
            }

            // Both are waiting on standard input: release them together.
            foreach (var process in processes)
            {
                await process.StandardInput.WriteLineAsync("go");
                await process.StandardInput.FlushAsync();
            }

            var results = new List<string>();
            foreach (var process in processes)
            {
                results.Add(await ReadLineAsync(process));
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
                Assert.Equal(0, process.ExitCode);
            }

            Assert.Single(results, r => r.StartsWith("extracted=True ", StringComparison.Ordinal));
            Assert.Single(results, r => r.StartsWith("extracted=False ", StringComparison.Ordinal));
            var folders = results.Select(r => r[(r.IndexOf("folder=", StringComparison.Ordinal) + 7)..]).Distinct().ToArray();
            var folder = Assert.Single(folders);
            Assert.True(PluginExtractor.IsComplete(folder));
            Assert.Equal(400, Directory.EnumerateFiles(Path.Combine(folder, "lib")).Count());
        }
        finally
        {
            foreach (var process in processes)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.Dispose();
            }
        }
    }

    private Process StartHelper(string archive)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet, [typeof(HelperProcess).Assembly.Location, "extract-plugin", archive, _cache])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        return Process.Start(start)!;
    }

    private static async Task<string> ReadLineAsync(Process process)
    {
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return line ?? $"(exited: {await process.StandardError.ReadToEndAsync()})";
    }

    private string Archive(string name, params (string Name, string Content)[] files) =>
        TracPluginArchive.Write(Path.Combine(_directory.Path, "plugins", name + ".zip"), files);

    private static string RandomText(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return Convert.ToBase64String(bytes)[..length];
    }

    // Rewrites an entry's declared uncompressed size in both its local header and its central directory record.
    private static void PatchDeclaredSize(string archive, string entryName, uint size)
    {
        var bytes = File.ReadAllBytes(archive);
        var name = System.Text.Encoding.UTF8.GetBytes(entryName);
        for (var i = 0; i + 46 < bytes.Length; i++)
        {
            var signature = BitConverter.ToUInt32(bytes, i);
            if (signature == 0x04034b50 && bytes.AsSpan(i + 30, name.Length).SequenceEqual(name))
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(i + 22), size);
            }
            else if (signature == 0x02014b50 && bytes.AsSpan(i + 46, name.Length).SequenceEqual(name))
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(i + 24), size);
            }
        }

        File.WriteAllBytes(archive, bytes);
    }

    private static PluginExtractor Extractor() => new(Limits, null, TimeProvider.System, TimeSpan.FromSeconds(30), NullLogger.Instance);

    private static string[] Snapshot(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
}
