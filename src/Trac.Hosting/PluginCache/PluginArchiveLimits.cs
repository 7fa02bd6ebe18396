using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Trac.Hosting.PluginCache;

/// <summary>The archive limits in force.</summary>
internal readonly record struct PluginArchiveLimits(int MaxEntries, long MaxTotalSize, double MaxCompressionRatio)
{
    /// <summary>Gets the largest archive file read: 64 MiB unless set.</summary>
    public long MaxArchiveSize { get; init; } = 64L * 1024 * 1024;
}
