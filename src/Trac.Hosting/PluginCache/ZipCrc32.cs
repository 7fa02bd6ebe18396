namespace Trac.Hosting.PluginCache;

/// <summary>
/// The CRC-32 of zip entries (IEEE 802.3 polynomial), to check that what was written is what the archive holds:
/// an entry whose declared size is smaller than its data is otherwise cut short without an error.
/// </summary>
internal static class ZipCrc32
{
    private static readonly uint[] s_table = CreateTable();

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        crc = ~crc;
        foreach (var b in data)
        {
            crc = s_table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var value = i;
            for (var bit = 0; bit < 8; bit++)
            {
                value = (value & 1) != 0 ? 0xEDB88320 ^ (value >> 1) : value >> 1;
            }

            table[i] = value;
        }

        return table;
    }
}
