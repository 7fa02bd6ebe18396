using Microsoft.Extensions.Primitives;
using Trac.Hosting.Environments;
using Trac.Hosting.Login;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.Login;

/// <summary>A password file read again when it changes, off the request path, keeping its last good content when a change cannot be read.</summary>
public sealed class PasswordFileTests : IDisposable
{
    // {SHA} of "test" and of "other", as htpasswd -s writes them.
    private const string Test = "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=";
    private const string Other = "{SHA}0JQeaNqPOBUf+Gph/Fn3xc+fyqI=";

    private readonly TracTestDirectory _directory = new();
    private readonly TracTestLogs _logs = new();
    private readonly FileWatchers _watchers;

    public PasswordFileTests() => _watchers = new FileWatchers(usePolling: false, _logs.CreateLogger("Trac.Hosting.Login"));

    public void Dispose()
    {
        _watchers.Dispose();
        _logs.Dispose();
        _directory.Dispose();
    }

    [Fact]
    public async Task AChangedFile_IsReadAgain_AndOneThatCannotBeRead_KeepsTheLastGoodContent()
    {
        var path = Path.Combine(_directory.Path, "htpasswd");
        await File.WriteAllLinesAsync(path, [$"alice:{Test}"]);
        using var file = new PasswordFile(path, isDigest: false, _logs.CreateLogger("Trac.Hosting.Login"), TimeProvider.System, _watchers);
        Assert.True(Users(file).Verify("alice", "test"));

        var reloaded = Next(file);
        Replace(path, [$"alice:{Other}", $"bob:{Test}", "malformed line"]);
        await reloaded;
        var changed = Users(file);
        Assert.True(changed.Verify("bob", "test"));

        // A late event of the move may read the file once more first: what counts is the failed read.
        var failed = _logs.WaitForAsync("PasswordFileReloadFailed", TimeSpan.FromSeconds(30));
        File.Delete(path);
        await failed;

        Assert.False(changed.Verify("alice", "test"));
        Assert.True(changed.Verify("alice", "other"));
        Assert.True(changed.Verify("bob", "test"));
        Assert.True(Users(file).Verify("bob", "test"), "the last good content stays in use");
        Assert.Contains(_logs.Entries, e => e.Id.Name == "PasswordFileLineSkipped" && e.Message.Contains("line 3", StringComparison.Ordinal));
        Assert.Contains(_logs.Entries, e => e.Id.Name == "PasswordFileReloadFailed" && e.Message.Contains(path, StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Entries, e => e.Message.Contains("qUqP5", StringComparison.Ordinal) || e.Message.Contains("0JQea", StringComparison.Ordinal));
    }

    [Fact]
    public void AFileThatCannotBeRead_AtStart_IsAnError()
    {
        var error = Assert.ThrowsAny<IOException>(() => new PasswordFile(Path.Combine(_directory.Path, "missing"), isDigest: true, _logs.CreateLogger("x"), TimeProvider.System, _watchers));

        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    private static HtpasswdFile Users(PasswordFile file) => Assert.IsType<HtpasswdFile>(file.Current);

    /// <summary>Completes after the file's next read attempt (bounded).</summary>
    private static Task Next(PasswordFile file)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        file.GetReloadedToken().RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), done);
        return done.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Writes the file whole, then moves it into place, as an editor or htpasswd does.</summary>
    private void Replace(string path, string[] lines)
    {
        var temporary = Path.Combine(_directory.Path, "htpasswd.tmp");
        File.WriteAllLines(temporary, lines);
        File.Move(temporary, path, overwrite: true);
    }
}
