using Decart.Rtc.Codecs;
using System.Buffers.Binary;

namespace Decart.Simulator.Realtime;

/// <summary>Records received frames as an IVF file in memory (32-byte file header, 12-byte frame headers).</summary>
internal sealed class IvfRecorder
{
    private readonly MemoryStream _stream = new();
    private readonly object _lock = new();
    private int _frames;
    private bool _started;

    /// <summary>Frames recorded.</summary>
    public int Frames => Volatile.Read(ref _frames);

    /// <summary>Appends one frame.</summary>
    /// <param name="frame">The encoded frame.</param>
    /// <param name="codec"><c>VP8</c> or <c>H264</c>.</param>
    /// <param name="rtpTimestamp">Its 90 kHz timestamp (stored as is; the file's timebase is 1/90000).</param>
    /// <param name="size">The frame size if known (written into the header from the first keyframe).</param>
    public void Append(ReadOnlySpan<byte> frame, RtpCodec codec, uint rtpTimestamp, (int Width, int Height)? size)
    {
        lock (_lock)
        {
            Span<byte> header = stackalloc byte[32];
            if (!_started)
            {
                "DKIF"u8.CopyTo(header);
                BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 0);
                BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 32);
                (codec == RtpCodec.H264 ? "H264"u8 : "VP80"u8).CopyTo(header[8..]);
                BinaryPrimitives.WriteUInt16LittleEndian(header[12..], (ushort)(size?.Width ?? 0));
                BinaryPrimitives.WriteUInt16LittleEndian(header[14..], (ushort)(size?.Height ?? 0));
                BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 90000);
                BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
                _stream.Write(header);
                _started = true;
            }

            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)frame.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(header[4..], rtpTimestamp);
            _stream.Write(header[..12]);
            _stream.Write(frame);
            _frames++;

            // Keep the frame count in the header current.
            var buffer = _stream.GetBuffer();
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(24), (uint)_frames);
        }
    }

    /// <summary>The file so far.</summary>
    public byte[] ToArray()
    {
        lock (_lock)
        {
            return _stream.ToArray();
        }
    }
}
