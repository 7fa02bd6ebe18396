using System.IO.Compression;
using System.Text;
using Trac.Hosting.PluginCache;
using Trac.Hosting.Testing;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>Every kind of hostile archive is refused whole, naming the archive and the entry, before anything is written.</summary>
public sealed class PluginArchiveValidatorTests : IDisposable
{
    private static readonly PluginArchiveLimits Limits = new(100, 1024 * 1024, 100);
    private readonly TracTestDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("../x", "'..' segment")]
    [InlineData("a/b/../../../x", "'..' segment")]
    [InlineData("/abs", "absolute")]
    [InlineData("C:\\x", "backslash")]
    [InlineData("C:/x", "':'")]
    [InlineData("..\\x", "backslash")]
    [InlineData("../cache-evil/x", "'..' segment")]
    [InlineData("./x", "'.' segment")]
    [InlineData("a//b", "empty segment")]
    [InlineData("a\u0000b", "control character")]
    [InlineData("a\u0001b", "control character")]
    [InlineData("file.txt:stream", "':'")]
    [InlineData("CON", "reserved device name")]
    [InlineData("dir/nul.txt", "reserved device name")]
    [InlineData("Com1", "reserved device name")]
    [InlineData("lpt9.dll", "reserved device name")]
    [InlineData("trailing.", "ends with a dot or a space")]
    [InlineData("trailing /x", "ends with a dot or a space")]
    [InlineData(".trac-plugin-complete", "named like the marker")]
    [InlineData(".TRAC-PLUGIN-COMPLETE", "named like the marker")]
    [InlineData("evil\u202Etxt.exe", "format character U+202E")]
    [InlineData("lib/zero\u200Bwidth.dll", "format character U+200B")]
    [InlineData("\uFEFFbom.txt", "format character U+FEFF")]
    [InlineData("tag\U000E0041.txt", "format character U+E0041")]
    public void UnsafeEntryName_RefusesTheWholeArchive(string entry, string reason)
    {
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "evil.zip"), ("ok.txt", "fine"), (entry, "payload"));

        var error = Refuse(archive);

        Assert.Contains(archive, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Equal(entry, error.Entry);
    }

    [Theory]
    [InlineData("a.txt", "a.txt")]
    [InlineData("A.txt", "a.txt")]
    [InlineData("dir/File.dll", "DIR/file.DLL")]
    [InlineData("lib", "lib/inner.dll")]
    [InlineData("lib/inner.dll", "lib")]
    [InlineData("lib/", "lib")]
    [InlineData("lib/", "lib/")]
    public void DuplicateEntries_AlsoByCaseOrAsFileAndDirectory_AreRefused(string first, string second)
    {
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "dup.zip"), (first, "1"), (second, "2"));

        var error = Refuse(archive);

        Assert.Contains("same name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooManyEntries_AreRefused()
    {
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "many.zip"),
            Enumerable.Range(0, 5).Select(i => ($"f{i}.txt", "x")).ToArray());

        var error = Refuse(archive, Limits with { MaxEntries = 4 });

        Assert.Contains("more than 4 entries", error.Message, StringComparison.Ordinal);
        Assert.Equal("f4.txt", error.Entry);
    }

    [Fact]
    public void ArchiveExpandingBeyondTheTotalLimit_IsRefused()
    {
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "big.zip"),
            ("a.bin", RandomBytes(600)), ("b.bin", RandomBytes(600)));

        var error = Refuse(archive, Limits with { MaxTotalSize = 1000 });

        Assert.Contains("expands to more than 1000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal("b.bin", error.Entry);
    }

    [Fact]
    public void ZipBomb_IsRefusedByTheCompressionRatio()
    {
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "bomb.zip"), ("zeros.bin", new byte[512 * 1024]));

        var error = Refuse(archive);

        Assert.Contains("compressed more than 100:1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FormatCharacterInAName_IsRefusedWithTheFix()
    {
        // Shown as "evilexe.txt" by anything that honours the right-to-left override.
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "bidi.zip"), ("evil\u202Etxt.exe", "payload"));

        var error = Refuse(archive);

        Assert.Contains(
            "its name holds the format character U+202E, invisible or changing how the name is shown; " +
            "rename the entry without it (Unicode category Cf)",
            error.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void EntriesSharingOneCompressedBlock_AreRefusedByTheWholeArchivesRatio()
    {
        // 2,500 central directory records pointing at one deflated block: each entry within 100:1, the archive
        // (about 138 KB) expanding to 240 MB, under MaxTotalSize.
        var archive = SharedBlockArchive.Write(Path.Combine(_directory.Path, "shared.zip"), 2_500);
        var limits = new PluginArchiveLimits(10_000, 256L * 1024 * 1024, 100);
        using (var zip = ZipFile.OpenRead(archive))
        {
            Assert.Equal(2_500, zip.Entries.Count);
            Assert.All(zip.Entries, e => Assert.InRange((double)e.Length / e.CompressedLength, 50, 100));
            Assert.Equal(240_000_000, zip.Entries.Sum(e => e.Length));
            Assert.InRange(new FileInfo(archive).Length, 130_000, 140_000);
        }

        var error = Refuse(archive, limits);

        Assert.Contains("the archive as a whole is compressed more than 100:1", error.Message, StringComparison.Ordinal);
        Assert.Contains("(Trac:PluginCache:MaxCompressionRatio)", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("f0", error.Entry, StringComparison.Ordinal);
    }

    [Fact]
    public void CompressibleEntriesStoredEachOnce_AreAccepted()
    {
        // The same text in twenty ordinary entries, each well compressed: the archive as a whole is no worse than its entries.
        var text = string.Concat(Enumerable.Range(0, 1_000).Select(i => $"line {i}: the same words again\n"));
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "text.zip"),
            Enumerable.Range(0, 20).Select(i => ($"doc/{i}.txt", text)).ToArray());
        using var zip = ZipFile.OpenRead(archive);
        Assert.All(zip.Entries, e => Assert.InRange((double)e.Length / e.CompressedLength, 10, 100));

        var entries = PluginArchiveValidator.Validate(zip, archive, new FileInfo(archive).Length, Path.Combine(_directory.Path, "target"), Limits);

        Assert.Equal(20, entries.Count);
    }

    [Fact]
    public void WellFormedArchive_IsAccepted()
    {
        var archive = TracPluginArchive.Write(Path.Combine(_directory.Path, "good.zip"),
            ("lib/", ""), ("lib/Plugin.dll", "binary"), ("lib/native/libx.so", "elf"), ("content/site.css", "body{}"), ("README", "hi"));
        using var zip = ZipFile.OpenRead(archive);

        var entries = PluginArchiveValidator.Validate(zip, archive, new FileInfo(archive).Length, Path.Combine(_directory.Path, "target"), Limits);

        Assert.Equal(["lib", "lib/Plugin.dll", "lib/native/libx.so", "content/site.css", "README"], entries.Select(e => e.RelativePath));
        Assert.False(Directory.Exists(Path.Combine(_directory.Path, "target")));
    }

    private UnsafePluginArchiveException Refuse(string archive, PluginArchiveLimits? limits = null)
    {
        using var zip = ZipFile.OpenRead(archive);
        var target = Path.Combine(_directory.Path, "target");
        var error = Assert.Throws<UnsafePluginArchiveException>(() => PluginArchiveValidator.Validate(zip, archive, new FileInfo(archive).Length, target, limits ?? Limits));
        Assert.False(Directory.Exists(target));
        return error;
    }

    private static byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        new Random(count).NextBytes(bytes);
        return bytes;
    }
}
