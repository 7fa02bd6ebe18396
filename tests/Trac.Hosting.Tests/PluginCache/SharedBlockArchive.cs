using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Trac.Hosting.PluginCache;

namespace Trac.Hosting.Tests.PluginCache;

/// <summary>
/// Writes, byte by byte, a zip file whose central directory lists many entries that all point at one local entry:
/// one deflated block of 96,000 bytes (about 86:1, within a per-entry limit of 100:1), so that the archive, about
/// 138 KB for 2,500 entries, expands to 240 MB. No zip library writes such a file.
/// </summary>
internal static class SharedBlockArchive
{
    /// <summary>The expanded size of the shared block, and so of every entry.</summary>
    public const int EntrySize = 96_000;

    /// <summary>Writes the archive and returns its path.</summary>
    public static string Write(string path, int count)
    {
        var content = new byte[EntrySize];
        var random = new Random(EntrySize);
        for (var i = 0; i < content.Length; i += 250)
        {
            content[i] = (byte)random.Next(256);
        }

        using var deflated = new MemoryStream();
        using (var deflate = new DeflateStream(deflated, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            deflate.Write(content);
        }

        var block = deflated.ToArray();
        var crc = ZipCrc32.Append(0, content);
        using var zip = new MemoryStream();
        var local = Encoding.ASCII.GetBytes("f0000.bin");
        zip.Write(Header(0x04034b50, 30, local.Length, crc, block.Length));
        zip.Write(local);
        zip.Write(block);

        var directoryOffset = zip.Length;
        for (var i = 0; i < count; i++)
        {
            var name = Encoding.ASCII.GetBytes($"f{i:D4}.bin");
            // Every record's local header offset (at 42) stays 0: the one block above.
            zip.Write(Header(0x02014b50, 46, name.Length, crc, block.Length));
            zip.Write(name);
        }

        var end = new byte[22];
        BinaryPrimitives.WriteUInt32LittleEndian(end, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(8), (ushort)count);
        BinaryPrimitives.WriteUInt16LittleEndian(end.AsSpan(10), (ushort)count);
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(12), (uint)(zip.Length - directoryOffset));
        BinaryPrimitives.WriteUInt32LittleEndian(end.AsSpan(16), (uint)directoryOffset);
        zip.Write(end);

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, zip.ToArray());
        return path;
    }

    // A local header (30 bytes) or a central directory record (46 bytes): deflated, 2000-01-01, no extra field.
    private static byte[] Header(uint signature, int length, int nameLength, uint crc, int compressedSize)
    {
        var header = new byte[length];
        var shift = signature == 0x02014b50 ? 2 : 0; // the central record has "version made by" first
        BinaryPrimitives.WriteUInt32LittleEndian(header, signature);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4), 20);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(4 + shift), 20);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8 + shift), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(12 + shift), 0x2821);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(14 + shift), crc);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(18 + shift), (uint)compressedSize);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(22 + shift), EntrySize);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(26 + shift), (ushort)nameLength);
        return header;
    }
}
