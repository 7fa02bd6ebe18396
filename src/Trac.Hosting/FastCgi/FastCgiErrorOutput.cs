using System.Buffers;
using System.Text;

namespace Trac.Hosting.FastCgi;

/// <summary>
/// What an application wrote to <c>FCGI_STDERR</c> for one request, kept up to a limit: a flood of error output
/// costs at most the limit in memory, and the log says how much more there was.
/// </summary>
internal sealed class FastCgiErrorOutput(int limit)
{
    private readonly ArrayBufferWriter<byte> _kept = new(Math.Min(limit, 1024));

    /// <summary>Gets how many bytes arrived beyond the limit and were dropped.</summary>
    public long Dropped { get; private set; }

    /// <summary>Gets whether anything arrived.</summary>
    public bool IsEmpty => _kept.WrittenCount == 0 && Dropped == 0;

    public void Append(in ReadOnlySequence<byte> content)
    {
        var room = limit - _kept.WrittenCount;
        var keep = (int)Math.Min(room, content.Length);
        if (keep > 0)
        {
            content.Slice(0, keep).CopyTo(_kept.GetSpan(keep));
            _kept.Advance(keep);
        }

        Dropped += content.Length - keep;
    }

    /// <summary>Returns the kept output as text (invalid UTF-8 replaced), with a note of what was dropped.</summary>
    public override string ToString()
    {
        var text = Encoding.UTF8.GetString(_kept.WrittenSpan);
        return Dropped > 0 ? $"{text}... ({Dropped} more bytes dropped)" : text;
    }
}
