using Decart.Rtc.Codecs;
using System.Buffers;
using System.Threading.Channels;
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Testing;

namespace Decart.Simulator.Model;

/// <summary>
/// Transform mode (VP8 or H.264, the session's codec both ways): every received frame is decoded (a reference chain cannot skip frames), the newest decoded
/// picture waits in a one-picture slot — <b>latest frame wins</b>, an older one is dropped and counted — and the model
/// loop takes it at most at the model's fps, holds it for the processing latency, draws the state and the stamp and
/// encodes it at the model's size. Glass-to-glass stays at latency + encode time + at most one frame interval,
/// whatever the input rate. A corrupt frame is counted, a keyframe requested, and decoding resumes at the keyframe.
/// </summary>
internal sealed class TransformPipeline(IModelHost host, RtpCodec codec, RtpCodec outputCodec) : ModelPipeline(host)
{
    private const int DecodeQueueFrames = 8;
    private readonly Channel<PendingFrame> _decode = Channel.CreateBounded<PendingFrame>(new BoundedChannelOptions(DecodeQueueFrames) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SemaphoreSlim _ready = new(0, 1);
    private Decoded? _latest;
    private IModelEncoder? _encoder;

    public override string Mode => "transform";

    public override void OnKeyframeRequested() => _encoder?.RequestKeyframe();

    // The decoder behind (its queue full): skip to the next keyframe rather than queue.
    protected override void Accept(InputFrame meta, ReadOnlySpan<byte> frame) => Enqueue(_decode, meta, frame);

    protected override async Task RunAsync(CancellationToken stop)
    {
        var decoding = Task.Run(() => DecodeLoopAsync(stop), CancellationToken.None);
        try
        {
            await ModelLoopAsync(stop).ConfigureAwait(false);
        }
        finally
        {
            _decode.Writer.TryComplete();
            await decoding.ConfigureAwait(false);
            Interlocked.Exchange(ref _latest, null)?.Picture.Dispose();
            _encoder?.Dispose();
            _ready.Dispose();
        }
    }

    private async Task DecodeLoopAsync(CancellationToken stop)
    {
        using var decoder = ModelCodecs.Decoder(codec);
        bool needKeyframe = false;
        try
        {
            await foreach (var frame in _decode.Reader.ReadAllAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    if (needKeyframe && !frame.IsKeyframe)
                    {
                        Dropped();
                        AskForInputKeyframe(first: false); // again, at most once per 500 ms, while the wait lasts
                        continue;
                    }

                    needKeyframe = false;
                    I420Frame? picture;
                    try
                    {
                        picture = decoder.Decode(frame.Buffer.AsSpan(0, frame.Length));
                    }
                    catch (DecartException)
                    {
                        DecodeErrors++;
                        Dropped();
                        needKeyframe = true;
                        AskForInputKeyframe(first: true);
                        continue;
                    }

                    if (picture is null)
                    {
                        continue;
                    }

                    if (Interlocked.Exchange(ref _latest, new Decoded(picture, frame.RtpTimestamp, frame.Input, frame.Arrival, frame.Meta.Capture)) is { } superseded)
                    {
                        superseded.Picture.Dispose();
                        Dropped(); // latest frame wins
                    }

                    if (_ready.CurrentCount == 0)
                    {
                        try
                        {
                            _ready.Release();
                        }
                        catch (SemaphoreFullException)
                        {
                        }
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame.Buffer);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Drain(_decode);
        }
    }

    private async Task ModelLoopAsync(CancellationToken stop)
    {
        var model = Host.Model;
        var time = Host.Time;
        int fps = Math.Max(1, model.Fps);
        using var output = I420Frame.Rent(outputCodec == RtpCodec.H264 ? model.Width & ~1 : model.Width, outputCodec == RtpCodec.H264 ? model.Height & ~1 : model.Height);
        _encoder = ModelCodecs.Encoder(outputCodec, model.Width, model.Height, fps);
        var encoded = new byte[_encoder.MaxEncodedSize];
        // Processing is pipelined like a real model's: a frame is made as soon as it is taken and held until its
        // arrival + latency, so the latency does not lower the throughput. At most latency × fps + 1 frames wait.
        var sending = Channel.CreateBounded<Made>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
        var sender = Task.Run(() => SendLoopAsync(sending.Reader, stop), CancellationToken.None);
        long outputs = 0;
        long interval = (long)(time.TimestampFrequency / (double)fps);
        long slot = time.GetTimestamp();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                // The model's fps: one frame per slot on a fixed grid of absolute times, so timer slack is not added
                // to every frame (the long-run rate is the model's fps, never more); a slot missed by more than one
                // interval is not made up in a burst.
                await WaitUntilAsync(slot, stop).ConfigureAwait(false);
                await _ready.WaitAsync(stop).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _latest, null) is not { } input)
                {
                    continue;
                }

                int length;
                RenderState state;
                long work = time.GetTimestamp();
                slot = Math.Max(slot + interval, time.GetTimestamp() - interval);
                using (input.Picture)
                {
                    state = Host.CurrentState();
                    ModelTransform.Apply(input.Picture, output, state, new StateStamp(state.Version & 0xFFFF, (int)(input.Input & 0xFFFFFF), (int)((outputs + 1) & 0xFFFFFF)));
                    length = _encoder.Encode(output, encoded);
                }

                if (length <= 0)
                {
                    continue;
                }

                outputs++;
                var copy = ArrayPool<byte>.Shared.Rent(length);
                encoded.AsSpan(0, length).CopyTo(copy);
                await sending.Writer.WriteAsync(new Made(copy, length, input.RtpTimestamp, After(input.Arrival, Host.SampleLatency()), input.Arrival, input.Input, outputs, state, time.GetElapsedTime(work).TotalMilliseconds, input.Capture), stop).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            sending.Writer.TryComplete();
            await sender.ConfigureAwait(false);
            while (sending.Reader.TryRead(out var left))
            {
                ArrayPool<byte>.Shared.Return(left.Buffer);
            }
        }
    }

    private async Task SendLoopAsync(ChannelReader<Made> made, CancellationToken stop)
    {
        var time = Host.Time;
        try
        {
            await foreach (var frame in made.ReadAllAsync(stop).ConfigureAwait(false))
            {
                try
                {
                    await WaitUntilAsync(frame.Due, stop).ConfigureAwait(false);
                    if (!Host.Send(frame.Buffer.AsSpan(0, frame.Length), frame.RtpTimestamp, frame.Capture))
                    {
                        _encoder?.RequestKeyframe(); // what the viewer missed would break the frames after it
                        continue;
                    }

                    var state = frame.State;
                    Host.OnOutput(new FrameRecord(frame.Output, frame.Input, state.Version, state.PromptHash, state.ImageHash, time.GetElapsedTime(frame.Arrival).TotalMilliseconds, Mode, InputsReceived - frame.Input, frame.WorkMs));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(frame.Buffer);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private readonly record struct Made(byte[] Buffer, int Length, uint RtpTimestamp, long Due, long Arrival, long Input, long Output, RenderState State, double WorkMs, ulong Capture);

    private sealed record Decoded(I420Frame Picture, uint RtpTimestamp, long Input, long Arrival, ulong Capture);
}
