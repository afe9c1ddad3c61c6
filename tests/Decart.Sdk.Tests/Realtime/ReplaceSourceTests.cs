using System.Runtime.CompilerServices;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary><see cref="RealtimeClient.ReplaceSourceAsync"/>: switching cameras without reconnecting, over real sockets.</summary>
public class ReplaceSourceTests
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task The_new_source_feeds_the_same_session_from_a_keyframe_and_the_old_one_stops(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var first = new CountingSource(await SourceAsync());
        var second = new CountingSource(await SourceAsync());
        var log = new StateLog();
        await using var rt = await client.Realtime.ConnectAsync(first, Options(log, new RealtimeState { Prompt = "kept" }, transport));
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        await WaitUntilAsync(() => first.Frames > 10, TimeSpan.FromSeconds(20), "the first source's frames");

        await rt.ReplaceSourceAsync(second);
        long firstStopped = first.Frames;
        Assert.True(second.KeyframeRequests >= 1, "the new source was asked for a keyframe");
        long inBefore = session.FramesIn;
        await WaitUntilAsync(() => second.Frames > 20 && session.FramesIn > inBefore + 15, TimeSpan.FromSeconds(20), "the new source's frames at the server");
        Assert.Equal(firstStopped, first.Frames); // one source at a time
        Assert.Equal(rt.SessionId, session.Id);
        Assert.Equal(0, rt.Reconnects);
        Assert.Equal(("kept", SessionPhaseOf(session)), (session.Prompt, "Generating"));
        long outBefore = rt.FramesReceived;
        await WaitUntilAsync(() => rt.FramesReceived > outBefore + 10, TimeSpan.FromSeconds(20), "the model's output after the switch");
        Assert.Empty(log.Errors);
        Assert.False(first.Disposed); // not OwnsSource: the old source stays the caller's
        await first.DisposeAsync();
        await second.DisposeAsync();
    }

    private static string SessionPhaseOf(Decart.Simulator.Realtime.SimulatedSession session) => session.State.ToString();

    [Fact]
    public async Task With_auto_mirror_a_switch_from_the_front_to_the_back_camera_stops_mirroring_and_an_owned_old_source_is_disposed()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var model = RealtimeModels.Lucy21;
        var front = new OwnedSynthetic(new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.User));
        var back = new OwnedSynthetic(new SyntheticVideoSource(new VideoFormat(model.Width, model.Height, model.Fps), FacingMode.Environment));
        var log = new StateLog();
        var options = new RealtimeConnectOptions { Model = model, Mirror = MirrorMode.Auto, OwnsSource = true, OnConnectionChanged = log.Add, OnError = log.AddError };
        await using var rt = await client.Realtime.ConnectAsync(front, options);
        await log.WaitForAsync(ConnectionState.Generating);
        Assert.True(front.Mirror);

        await rt.ReplaceSourceAsync(back);
        Assert.False(back.Mirror);
        Assert.True(front.Disposed, "OwnsSource: the replaced source is the client's to dispose");
        Assert.False(back.Disposed);
        long before = rt.FramesSent;
        await WaitUntilAsync(() => rt.FramesSent > before + 10, TimeSpan.FromSeconds(20), "frames from the back camera");
        Assert.Empty(log.Errors);
        await rt.DisposeAsync();
        Assert.True(back.Disposed);
    }

    [Fact]
    public async Task Bad_replacements_are_refused_and_the_old_source_keeps_feeding()
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var first = new CountingSource(await SourceAsync());
        var log = new StateLog();
        var options = new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, StrictFormat = true, Mirror = MirrorMode.Auto, OnConnectionChanged = log.Add, OnError = log.AddError };
        var rt = await client.Realtime.ConnectAsync(first, options);
        await log.WaitForAsync(ConnectionState.Generating);

        // Bad input tried: another codec, a front camera that cannot be mirrored, another size under StrictFormat, null.
        var h264 = await Assert.ThrowsAsync<DecartException>(() => rt.ReplaceSourceAsync(new H264ClipSource()));
        Assert.Equal(DecartErrorCode.InvalidOptions, h264.Code);
        Assert.Contains("H264", h264.Message, StringComparison.Ordinal);
        var unmirrorable = await Assert.ThrowsAsync<DecartException>(() => rt.ReplaceSourceAsync(new FixedSource(new VideoFormat(1088, 624, 30), FacingMode.User)));
        Assert.Equal(DecartErrorCode.InvalidOptions, unmirrorable.Code);
        var wrongSize = await Assert.ThrowsAsync<DecartException>(() => rt.ReplaceSourceAsync(new FixedSource(new VideoFormat(640, 480, 30), FacingMode.Environment)));
        Assert.Equal(DecartErrorCode.InvalidOptions, wrongSize.Code);
        await Assert.ThrowsAsync<ArgumentNullException>(() => rt.ReplaceSourceAsync(null!));

        long before = first.Frames;
        await WaitUntilAsync(() => first.Frames > before + 10, TimeSpan.FromSeconds(20), "the old source to keep feeding");
        Assert.Empty(log.Errors);

        await rt.DisposeAsync();
        var after = await Assert.ThrowsAsync<DecartException>(() => rt.ReplaceSourceAsync(new FixedSource(new VideoFormat(1088, 624, 30), FacingMode.Environment)));
        Assert.Equal(DecartErrorCode.WebRtcError, after.Code);
        await first.DisposeAsync();
    }

    /// <summary>Wraps a source and counts what was read from it and asked of it.</summary>
    private sealed class CountingSource(IvfFileSource inner) : IVideoSource, IAsyncDisposable
    {
        private long _frames;
        private int _keyframes;

        public long Frames => Interlocked.Read(ref _frames);

        public int KeyframeRequests => Volatile.Read(ref _keyframes);

        public bool Disposed { get; private set; }

        public VideoFormat Format => inner.Format;

        public VideoCodec Codec => inner.Codec;

        public FacingMode Facing => FacingMode.Unknown;

        public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var frame in inner.ReadFramesAsync(cancellationToken))
            {
                Interlocked.Increment(ref _frames);
                yield return frame;
            }
        }

        public void RequestKeyframe()
        {
            Interlocked.Increment(ref _keyframes);
            inner.RequestKeyframe();
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return inner.DisposeAsync();
        }
    }

    /// <summary>A synthetic camera that records its disposal.</summary>
    private sealed class OwnedSynthetic(SyntheticVideoSource inner) : IMirrorableVideoSource, IAsyncDisposable
    {
        public bool Disposed { get; private set; }

        public bool Mirror
        {
            get => inner.Mirror;
            set => inner.Mirror = value;
        }

        public VideoFormat Format => inner.Format;

        public VideoCodec Codec => inner.Codec;

        public FacingMode Facing => inner.Facing;

        public IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync(CancellationToken cancellationToken) => inner.ReadFramesAsync(cancellationToken);

        public void RequestKeyframe() => inner.RequestKeyframe();

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return inner.DisposeAsync();
        }
    }

    /// <summary>An encoded VP8 source of a given format that never produces a frame (refused before it is read).</summary>
    private sealed class FixedSource(VideoFormat format, FacingMode facing) : IVideoSource
    {
        public VideoFormat Format => format;

        public VideoCodec Codec => VideoCodec.Vp8;

        public FacingMode Facing => facing;

        public async IAsyncEnumerable<EncodedVideoFrame> ReadFramesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            yield break;
        }

        public void RequestKeyframe()
        {
        }
    }
}
