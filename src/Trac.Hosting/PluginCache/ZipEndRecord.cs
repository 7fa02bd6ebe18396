using System.Buffers.Binary;

namespace Trac.Hosting.PluginCache;

/// <summary>
/// Reads the entry count from a zip file's end-of-central-directory record (ZIP64 too), so an archive with an
/// absurd number of entries is refused before its central directory is parsed into memory.
/// </summary>
internal static class ZipEndRecord
{
    private const uint EndSignature = 0x06054b50;
    private const uint Zip64LocatorSignature = 0x07064b50;
    private const uint Zip64EndSignature = 0x06064b50;

    /// <summary>Returns the declared entry count, or <see langword="null"/> when no end record is found.</summary>
    public static long? ReadEntryCount(Stream stream)
    {
        // The record is 22 bytes plus a comment of at most 65,535 bytes, at the very end.
        var length = (int)Math.Min(stream.Length, 22 + 65_535 + 20);
        var tail = new byte[length];
        stream.Position = stream.Length - length;
        stream.ReadExactly(tail);
        for (var i = length - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) != EndSignature)
            {
                continue;
            }

            var count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 10));
            if (count != 0xFFFF || i < 20 || BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i - 20)) != Zip64LocatorSignature)
            {
                return count;
            }

            // ZIP64: the locator points at the ZIP64 end record, whose total entry count is at offset 32.
            var zip64End = (long)BinaryPrimitives.ReadUInt64LittleEndian(tail.AsSpan(i - 20 + 8));
            if (zip64End < 0 || zip64End + 40 > stream.Length)
            {
                return null;
            }

            var record = new byte[40];
            stream.Position = zip64End;
            stream.ReadExactly(record);
            return BinaryPrimitives.ReadUInt32LittleEndian(record) == Zip64EndSignature
                ? (long)BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32))
                : null;
        }

        return null;
    }
}
