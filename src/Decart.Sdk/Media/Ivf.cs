using System.Buffers.Binary;

namespace Decart.Sdk.Media;

/// <summary>The header of an IVF file: the simple container libvpx, ffmpeg and browsers' test tools use for VP8/VP9/AV1/H.264 elementary streams.</summary>
/// <param name="FourCc">Codec tag, e.g. <c>VP80</c> or <c>H264</c>.</param>
/// <param name="Width">Frame width in pixels.</param>
/// <param name="Height">Frame height in pixels.</param>
/// <param name="TimebaseDenominator">Timebase denominator (frame rate for a 1/fps timebase).</param>
/// <param name="TimebaseNumerator">Timebase numerator.</param>
/// <param name="FrameCount">Number of frames the header announces (writers may leave it 0).</param>
public readonly record struct IvfHeader(string FourCc, int Width, int Height, int TimebaseDenominator, int TimebaseNumerator, int FrameCount)
{
    /// <summary>Size of the file header in bytes.</summary>
    public const int Size = 32;

    /// <summary>Size of each frame header in bytes.</summary>
    public const int FrameHeaderSize = 12;
}

/// <summary>One encoded frame read from an IVF file.</summary>
/// <param name="Data">The encoded bytes.</param>
/// <param name="Pts">Presentation timestamp in the file's timebase.</param>
public readonly record struct IvfFrame(ReadOnlyMemory<byte> Data, long Pts);

/// <summary>Reads IVF files frame by frame. Malformed files give <see cref="DecartException"/> with <see cref="DecartErrorCode.InvalidInput"/>.</summary>
public sealed class IvfReader : IAsyncDisposable, IDisposable
{
    /// <summary>Largest frame the reader accepts (a corrupt length field must not allocate gigabytes).</summary>
    public const int MaxFrameSize = 16 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly long _firstFrameOffset;

    private IvfReader(Stream stream, bool ownsStream, IvfHeader header, long firstFrameOffset)
    {
        _stream = stream;
        _ownsStream = ownsStream;
        Header = header;
        _firstFrameOffset = firstFrameOffset;
    }

    /// <summary>The file header.</summary>
    public IvfHeader Header { get; }

    /// <summary>Opens an IVF file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="cancellationToken">Cancels the read of the header.</param>
    /// <returns>A reader positioned at the first frame.</returns>
    public static async Task<IvfReader> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        try
        {
            return await OpenAsync(stream, ownsStream: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads the IVF header from <paramref name="stream"/>.</summary>
    /// <param name="stream">A readable stream positioned at the start of the file.</param>
    /// <param name="ownsStream">Whether disposing the reader disposes the stream.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>A reader positioned at the first frame.</returns>
    public static async Task<IvfReader> OpenAsync(Stream stream, bool ownsStream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new byte[IvfHeader.Size];
        if (!await ReadExactlyOrEofAsync(stream, header, cancellationToken).ConfigureAwait(false))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "IVF file is shorter than its 32-byte header.");
        }

        var parsed = ParseHeader(header);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(6));
        if (headerLength > IvfHeader.Size)
        {
            var skip = new byte[headerLength - IvfHeader.Size];
            if (!await ReadExactlyOrEofAsync(stream, skip, cancellationToken).ConfigureAwait(false))
            {
                throw new DecartException(DecartErrorCode.InvalidInput, "IVF header length points past the end of the file.");
            }
        }

        return new IvfReader(stream, ownsStream, parsed, stream.CanSeek ? stream.Position : -1);
    }

    /// <summary>Parses a 32-byte IVF file header.</summary>
    /// <param name="header">The first 32 bytes of the file.</param>
    /// <returns>The header.</returns>
    public static IvfHeader ParseHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < IvfHeader.Size || !header[..4].SequenceEqual("DKIF"u8))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "not an IVF file (no DKIF signature).");
        }

        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        if (headerLength < IvfHeader.Size)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"IVF header length {headerLength} is below 32.");
        }

        string fourCc = System.Text.Encoding.ASCII.GetString(header.Slice(8, 4));
        int width = BinaryPrimitives.ReadUInt16LittleEndian(header[12..]);
        int height = BinaryPrimitives.ReadUInt16LittleEndian(header[14..]);
        int den = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        int num = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        int count = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (den <= 0 || num <= 0)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"IVF timebase {num}/{den} is not positive.");
        }

        return new IvfHeader(fourCc, width, height, den, num, count);
    }

    /// <summary>Reads the next frame.</summary>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The frame, or <see langword="null"/> at the end of the file.</returns>
    public async ValueTask<IvfFrame?> ReadFrameAsync(CancellationToken cancellationToken = default)
    {
        var frameHeader = new byte[IvfHeader.FrameHeaderSize];
        if (!await ReadExactlyOrEofAsync(_stream, frameHeader, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        uint size = BinaryPrimitives.ReadUInt32LittleEndian(frameHeader);
        long pts = BinaryPrimitives.ReadInt64LittleEndian(frameHeader.AsSpan(4));
        if (size > MaxFrameSize)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"IVF frame of {size} bytes exceeds the {MaxFrameSize}-byte limit (corrupt file?).");
        }

        var data = new byte[size];
        if (!await ReadExactlyOrEofAsync(_stream, data, cancellationToken).ConfigureAwait(false))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "IVF file ends inside a frame.");
        }

        return new IvfFrame(data, pts);
    }

    /// <summary>Goes back to the first frame (for looping clips). Needs a seekable stream.</summary>
    public void Rewind()
    {
        if (_firstFrameOffset < 0)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "IVF stream is not seekable; it cannot loop.");
        }

        _stream.Position = _firstFrameOffset;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsStream)
        {
            _stream.Dispose();
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _ownsStream ? _stream.DisposeAsync() : ValueTask.CompletedTask;

    private static async ValueTask<bool> ReadExactlyOrEofAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        if (read == 0)
        {
            return false;
        }

        if (read < buffer.Length)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "IVF file is truncated.");
        }

        return true;
    }
}

/// <summary>Writes IVF files. The frame count in the header is patched on dispose when the stream is seekable.</summary>
public sealed class IvfWriter : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private int _frames;

    /// <summary>Starts an IVF file on <paramref name="stream"/> by writing its header.</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="header">The header (its frame count is ignored and maintained by the writer).</param>
    /// <param name="ownsStream">Whether disposing the writer disposes the stream.</param>
    public IvfWriter(Stream stream, IvfHeader header, bool ownsStream = true)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (header.FourCc is not { Length: 4 })
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "IVF FourCC must be 4 ASCII characters.");
        }

        _stream = stream;
        _ownsStream = ownsStream;
        Header = header;
        Span<byte> bytes = stackalloc byte[IvfHeader.Size];
        WriteHeader(bytes, header with { FrameCount = 0 });
        _stream.Write(bytes);
    }

    /// <summary>The header written.</summary>
    public IvfHeader Header { get; }

    /// <summary>Frames written so far.</summary>
    public int FrameCount => _frames;

    /// <summary>Creates (or replaces) an IVF file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="header">Its header.</param>
    /// <returns>The writer.</returns>
    public static IvfWriter Create(string path, IvfHeader header) =>
        new(new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read), header);

    /// <summary>Appends one frame.</summary>
    /// <param name="data">The encoded frame.</param>
    /// <param name="pts">Its timestamp in the file's timebase.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>A task that completes when written.</returns>
    public async ValueTask WriteFrameAsync(ReadOnlyMemory<byte> data, long pts, CancellationToken cancellationToken = default)
    {
        var header = new byte[IvfHeader.FrameHeaderSize];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)data.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(4), pts);
        await _stream.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await _stream.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        _frames++;
    }

    /// <summary>Patches the frame count, flushes, and closes the stream when owned.</summary>
    /// <returns>A task that completes when done.</returns>
    public async ValueTask DisposeAsync()
    {
        if (_stream.CanSeek && _stream.CanWrite)
        {
            long end = _stream.Position;
            _stream.Position = 24;
            var count = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(count, _frames);
            await _stream.WriteAsync(count).ConfigureAwait(false);
            _stream.Position = end;
        }

        await _stream.FlushAsync().ConfigureAwait(false);
        if (_ownsStream)
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static void WriteHeader(Span<byte> bytes, IvfHeader header)
    {
        "DKIF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[4..], 0);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[6..], IvfHeader.Size);
        System.Text.Encoding.ASCII.GetBytes(header.FourCc, bytes.Slice(8, 4));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[12..], (ushort)header.Width);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes[14..], (ushort)header.Height);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[16..], header.TimebaseDenominator);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[20..], header.TimebaseNumerator);
        BinaryPrimitives.WriteInt32LittleEndian(bytes[24..], header.FrameCount);
        bytes[28..32].Clear();
    }
}
