using System.Threading.Channels;

namespace Decart.Sdk.Media.Ffmpeg;

/// <summary>Options of <see cref="FfmpegVideoSink"/>.</summary>
public sealed record FfmpegSinkOptions
{
    /// <summary>The rate the frames are written at, fps. Default 30 (what Decart's realtime models send).</summary>
    public int Fps { get; init; } = 30;

    /// <summary>
    /// Output options, placed after the input (codec, quality, container). Null picks by the file's extension:
    /// <c>.webm</c> VP8 (libvpx), otherwise H.264 (libx264, <c>yuv420p</c>, <c>+faststart</c>) for mp4/mov/mkv.
    /// </summary>
    public IReadOnlyList<string>? OutputArguments { get; init; }

    /// <summary>Frames that may wait for ffmpeg before the oldest is dropped (and counted). Default 60 (two seconds).</summary>
    public int MaxQueuedFrames { get; init; } = 60;

    /// <summary>The ffmpeg program; null finds <c>ffmpeg</c> on <c>PATH</c>.</summary>
    public string? FfmpegPath { get; init; }
}

/// <summary>
/// Records the decoded, transformed stream to a file through Debian's <c>ffmpeg</c> (a process; raw I420 on its
/// standard input): set it as <c>RealtimeConnectOptions.DecodedSink</c>, then <see cref="CompleteAsync"/> to finish
/// the file. The size comes from the first frame; frames of another size later are counted in
/// <see cref="FramesRejected"/>, not written.
/// </summary>
/// <remarks>
/// <see cref="OnFrame"/> never blocks the SDK's decode worker: frames wait in a bounded queue
/// (<see cref="FfmpegSinkOptions.MaxQueuedFrames"/>) and the oldest is dropped when ffmpeg falls behind
/// (<see cref="FramesDropped"/>). If ffmpeg fails (a path it cannot write), later frames are dropped and
/// <see cref="CompleteAsync"/> reports ffmpeg's error.
/// </remarks>
public sealed class FfmpegVideoSink : IVideoSink, IAsyncDisposable
{
    private readonly string _output;
    private readonly FfmpegSinkOptions _options;
    private readonly string _program;
    private readonly Channel<I420Frame> _queue;
    private readonly object _startLock = new();
    private FfmpegProcess? _ffmpeg;
    private Task? _writer;
    private (int Width, int Height)? _size;
    private long _written;
    private long _dropped;
    private long _rejected;
    private int _completed;
    private Task? _completion;
    private Exception? _startFailure;

    /// <summary>Prepares a recording; ffmpeg starts with the first frame.</summary>
    /// <param name="output">The file to write (its extension picks the container); an existing file is replaced.</param>
    /// <param name="options">Rate, codec arguments, queue bound; null for the defaults.</param>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidOptions"/> when ffmpeg is missing (the message names the
    /// package) or an option is out of range.</exception>
    public FfmpegVideoSink(string output, FfmpegSinkOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(output);
        _output = output;
        _options = options ?? new FfmpegSinkOptions();
        if (_options.Fps is < 1 or > 240)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"Fps must be 1–240 (got {_options.Fps}).");
        }

        if (_options.MaxQueuedFrames is < 1 or > 1000)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, $"MaxQueuedFrames must be 1–1000 (got {_options.MaxQueuedFrames}).");
        }

        _program = FfmpegProcess.Locate(_options.FfmpegPath);
        _queue = Channel.CreateBounded<I420Frame>(new BoundedChannelOptions(_options.MaxQueuedFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Frames handed to ffmpeg.</summary>
    public long FramesWritten => Interlocked.Read(ref _written);

    /// <summary>Frames dropped because ffmpeg fell behind or had failed.</summary>
    public long FramesDropped => Interlocked.Read(ref _dropped);

    /// <summary>Frames not written because their size differs from the first frame's.</summary>
    public long FramesRejected => Interlocked.Read(ref _rejected);

    /// <inheritdoc />
    public void OnFrame(I420Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (Volatile.Read(ref _completed) != 0)
        {
            Interlocked.Increment(ref _dropped);
            frame.Dispose();
            return;
        }

        lock (_startLock)
        {
            if (_size is null)
            {
                _size = (frame.Width, frame.Height);
                try
                {
                    Start(frame.Width, frame.Height);
                }
                catch (Exception ex) when (ex is DecartException or IOException or InvalidOperationException)
                {
                    // ffmpeg could not start: this runs on the SDK's decode worker, so the failure is kept for
                    // CompleteAsync and the frames are dropped.
                    _startFailure = ex;
                    Volatile.Write(ref _completed, 1);
                    _queue.Writer.TryComplete();
                }
            }
        }

        if (_startFailure is not null)
        {
            Interlocked.Increment(ref _dropped);
            frame.Dispose();
            return;
        }

        if (_size != (frame.Width, frame.Height))
        {
            Interlocked.Increment(ref _rejected);
            frame.Dispose();
            return;
        }

        while (!_queue.Writer.TryWrite(frame))
        {
            if (Volatile.Read(ref _completed) != 0)
            {
                // Completing: the queued frames are the recording's tail and go to ffmpeg; this late one does not.
                Interlocked.Increment(ref _dropped);
                frame.Dispose();
                return;
            }

            // Full: the oldest frame makes room (a recording of a live stream keeps up, or loses the past, never the present).
            if (_queue.Reader.TryRead(out var oldest))
            {
                oldest.Dispose();
                Interlocked.Increment(ref _dropped);
            }
            else if (Volatile.Read(ref _completed) != 0)
            {
                Interlocked.Increment(ref _dropped);
                frame.Dispose();
                return;
            }
        }
    }

    /// <summary>Writes the frames still queued and finishes the file (within 30 s; ffmpeg is stopped after that).</summary>
    /// <param name="cancellationToken">Stops waiting: ffmpeg is then stopped and the file may be unfinished.</param>
    /// <returns>When ffmpeg has written the file; a second call gets the first one's outcome.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/> when ffmpeg failed or did not finish, with its
    /// error; or when no frame came. <see cref="DecartErrorCode.InvalidOptions"/> when ffmpeg could not be started.</exception>
    public Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        lock (_startLock)
        {
            return _completion ??= CompleteCoreAsync(cancellationToken);
        }
    }

    private async Task CompleteCoreAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _completed, 1);
        _queue.Writer.TryComplete();
        if (_startFailure is { } failure)
        {
            throw failure is DecartException decart ? decart : new DecartException(DecartErrorCode.InvalidOptions, $"ffmpeg could not be started: {failure.Message}", failure);
        }

        Task? writer;
        FfmpegProcess? ffmpeg;
        lock (_startLock)
        {
            writer = _writer;
            ffmpeg = _ffmpeg;
        }

        if (writer is null || ffmpeg is null)
        {
            throw new DecartException(DecartErrorCode.InvalidInput, $"No frame came to record to '{FfmpegProcess.Redact(_output)}'.");
        }

        var deadline = TimeSpan.FromSeconds(30);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        bool exited;
        try
        {
            await writer.WaitAsync(deadline, cancellationToken).ConfigureAwait(false);
            exited = await ffmpeg.WaitForExitAsync(deadline - System.Diagnostics.Stopwatch.GetElapsedTime(started), cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await ffmpeg.DisposeAsync().ConfigureAwait(false);   // stop it: the caller stopped waiting for the file
            throw;
        }
        catch (TimeoutException)
        {
            exited = false;
        }

        if (!exited || ffmpeg.ExitCode != 0)
        {
            if (!exited)
            {
                await ffmpeg.DisposeAsync().ConfigureAwait(false);   // stop it: a file it cannot finish is not waited for
            }

            throw new DecartException(DecartErrorCode.InvalidInput, $"ffmpeg could not write '{FfmpegProcess.Redact(_output)}'{(exited ? $" (exit {ffmpeg.ExitCode})" : " (it did not finish in 30 s)")}: {ffmpeg.LastError}");
        }
    }

    /// <summary>Stops ffmpeg (without finishing the file if <see cref="CompleteAsync"/> was not awaited) and releases the frames.</summary>
    /// <returns>When the process is gone.</returns>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _completed, 1);
        _queue.Writer.TryComplete();
        FfmpegProcess? ffmpeg;
        Task? writer;
        lock (_startLock)
        {
            ffmpeg = _ffmpeg;
            writer = _writer;
        }

        if (ffmpeg is not null)
        {
            await ffmpeg.DisposeAsync().ConfigureAwait(false);
        }

        if (writer is not null)
        {
            await writer.ConfigureAwait(false);
        }

        while (_queue.Reader.TryRead(out var left))
        {
            left.Dispose();
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"FfmpegVideoSink {{ {FfmpegProcess.Redact(_output)}, {FramesWritten} written, {FramesDropped} dropped }}";

    private void Start(int width, int height)
    {
        var args = new List<string>
        {
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", $"{FfmpegProcess.Number(width)}x{FfmpegProcess.Number(height)}",
            "-framerate", FfmpegProcess.Number(_options.Fps), "-i", "pipe:0",
        };
        args.AddRange(_options.OutputArguments ?? DefaultOutput(_output));
        args.AddRange(["-y", _output]);
        var ffmpeg = FfmpegProcess.Start(_program, args, writesInput: true);
        _ffmpeg = ffmpeg;
        _writer = Task.Run(() => WriteAsync(ffmpeg));
    }

    private static string[] DefaultOutput(string output) =>
        Path.GetExtension(output).Equals(".webm", StringComparison.OrdinalIgnoreCase)
            ? ["-c:v", "libvpx", "-b:v", "2M", "-deadline", "realtime", "-cpu-used", "8"]
            : ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart"];

    private async Task WriteAsync(FfmpegProcess ffmpeg)
    {
        var input = ffmpeg.Input;
        try
        {
            await foreach (var frame in _queue.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                using (frame)
                {
                    await input.WriteAsync(frame.Memory).ConfigureAwait(false);
                }

                Interlocked.Increment(ref _written);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // ffmpeg is gone (it failed, or it was stopped): what is left is dropped, and CompleteAsync says why.
            Volatile.Write(ref _completed, 1);
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var left))
            {
                left.Dispose();
                Interlocked.Increment(ref _dropped);
            }
        }
        finally
        {
            try
            {
                input.Close();
            }
            catch (IOException)
            {
            }
        }
    }
}
