using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;
using Trac.Hosting.Tests.Support;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>The cache directory is created private, refused when others can write it, and proven writable.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PluginCacheDirectoryTests : IDisposable
{
    private readonly TracTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void MissingDirectory_IsCreatedOwnerOnly()
    {
        var path = Path.Combine(_directory.Path, "a", "cache");

        PluginCacheDirectory.Prepare(path, allowInsecure: false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

        Assert.True(Directory.Exists(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(path));
    }

    [Theory]
    [InlineData("0777")]
    [InlineData("0770")]
    [InlineData("0702")]
    public void DirectoryWritableByOthers_IsRefused(string octal)
    {
        var path = _directory.CreateDirectory("shared");
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(octal, 8));

        var error = Assert.Throws<InvalidOperationException>(() =>
            PluginCacheDirectory.Prepare(path, allowInsecure: false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains($"mode {octal}", error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:PluginCache:Directory", error.Message, StringComparison.Ordinal);
        Assert.Contains("PYTHON_EGG_CACHE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryWritableByOthers_IsAcceptedWithALoudWarningWhenAllowed()
    {
        var path = _directory.CreateDirectory("shared");
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("777", 8));
        var logs = new TracTestLogs();

        PluginCacheDirectory.Prepare(path, allowInsecure: true, logs.CreateLogger("test"));

        var entry = Assert.Single(logs.Entries);
        Assert.Equal(Diagnostics.EventIds.InsecurePluginCacheAccepted, entry.Id.Id);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, entry.Level);
        Assert.StartsWith("SECURITY:", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnusableDirectory_NamesThePathTheErrorAndTheTwoWaysToChangeIt()
    {
        // Below a file: no user, root included, can create it.
        var file = _directory.CreateFile("not-a-directory", "x");
        var path = Path.Combine(file, "cache");

        var error = Assert.Throws<InvalidOperationException>(() =>
            PluginCacheDirectory.Prepare(path, allowInsecure: false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.StartsWith($"The plugin cache directory '{path}' cannot be used: ", error.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.Contains(error.InnerException!.Message, error.Message, StringComparison.Ordinal);
        Assert.Contains("Trac:PluginCache:Directory", error.Message, StringComparison.Ordinal);
        Assert.Contains("PYTHON_EGG_CACHE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DirectoryOfAnotherUser_IsRefused()
    {
        var path = _directory.CreateDirectory("theirs");
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("700", 8));
        Chown(path, 65534);

        var error = Assert.Throws<InvalidOperationException>(() =>
            PluginCacheDirectory.Prepare(path, allowInsecure: true, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Contains($"'{path}' belongs to another user (uid 65534)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SymbolicLink_IsRefused()
    {
        var real = _directory.CreateDirectory("real");
        var link = Path.Combine(_directory.Path, "link");
        Directory.CreateSymbolicLink(link, real);

        var error = Assert.Throws<InvalidOperationException>(() =>
            PluginCacheDirectory.Prepare(link, allowInsecure: false, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Contains($"'{link}' is a symbolic link (to '{real}')", error.Message, StringComparison.Ordinal);
    }

    private static void Chown(string path, int uid)
    {
        using var chown = System.Diagnostics.Process.Start("chown", [uid.ToString(System.Globalization.CultureInfo.InvariantCulture), path])!;
        chown.WaitForExit();
        Assert.Equal(0, chown.ExitCode);
    }
}
