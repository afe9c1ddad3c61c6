using System.Buffers.Binary;
using Decart.Rtc.Codecs;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Rtc.Tests.Codecs;

internal static class Clips
{
    /// <summary>A VP8 keyframe of the given size (frame tag, start code, size) with <paramref name="bytes"/> of random payload.</summary>
    public static byte[] Vp8Keyframe(int width, int height, int bytes, int seed)
    {
        var frame = new byte[bytes];
        new Random(seed).NextBytes(frame);
        frame[0] = 0x10; // keyframe, shown
        frame[3] = 0x9d;
        frame[4] = 0x01;
        frame[5] = 0x2a;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(6), (ushort)width);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(frame.AsSpan(8), (ushort)height);
        return frame;
    }

    public static string Path(string name)
    {
        return System.IO.Path.Combine(Decart.Testing.RepositoryPaths.Root, "assets", "clips", name);
    }

    /// <summary>The frames of an IVF file (a 32-byte header, then 12-byte frame headers).</summary>
    public static List<byte[]> IvfFrames(string name)
    {
        var bytes = File.ReadAllBytes(Path(name));
        var frames = new List<byte[]>();
        int offset = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(6));
        while (offset + 12 <= bytes.Length)
        {
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(offset));
            frames.Add(bytes.AsSpan(offset + 12, size).ToArray());
            offset += 12 + size;
        }

        return frames;
    }
}

public class Vp8PayloadTests
{
    [Theory]
    [InlineData("10", true, 0, -1, 1)]                       // S=1, PID 0, no extensions
    [InlineData("90 80 81 23", true, 0, 0x0123, 4)]          // X, I, M: 15-bit PictureID 0x0123
    [InlineData("90 80 7f", true, 0, 0x7f, 3)]               // 7-bit PictureID
    [InlineData("80 c0 80 05 11", false, 0, 5, 5)]           // I+L: PictureID 5, TL0PICIDX 0x11
    [InlineData("93 e0 80 05 11 40", true, 3, 5, 6)]         // I+L+T: partition 3
    public void Descriptors_parse(string hex, bool start, int pid, int pictureId, int headerSize)
    {
        Assert.True(Vp8Descriptor.TryParse(Hex.Parse(hex), out var d));
        Assert.Equal((start, pid, pictureId, headerSize), (d.StartOfPartition, d.PartitionId, d.PictureId, d.HeaderSize));
    }

    [Theory]
    [InlineData("")]
    [InlineData("80")]
    [InlineData("80 80")]
    [InlineData("80 80 80")]
    [InlineData("80 40")]
    public void Truncated_descriptors_are_rejected(string hex) => Assert.False(Vp8Descriptor.TryParse(Hex.Parse(hex), out _));

    [Fact]
    public void Packetize_then_assemble_is_bit_exact_for_many_sizes() =>
        Prop.ForAll(Gen.Choose(1, 200_000).ToArbitrary(), Gen.Choose(100, 1400).ToArbitrary(), (size, mtu) =>
        {
            var frame = new byte[size];
            new Random(size).NextBytes(frame);
            frame[0] &= 0xFE; // keyframe tag
            var assembler = new FrameAssembler(RtpCodec.Vp8, capacity: 4096);
            byte[]? got = null;
            var packetizer = new Vp8Packetizer(frame, mtu, 77);
            var payload = new byte[mtu];
            ushort seq = 1000;
            while (packetizer.TryWriteNext(payload, out int n, out bool last))
            {
                assembler.Push(seq++, 3000, last, payload.AsSpan(0, n), (f, _, _) => got = f.ToArray());
            }

            return got is not null && got.AsSpan().SequenceEqual(frame);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));

    [Fact]
    public void Keyframe_size_of_the_shipped_clip_is_read_from_its_header()
    {
        var frames = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        Assert.True(Vp8Bitstream.TryReadKeyframeSize(frames[0], out int w, out int h));
        Assert.Equal((1088, 624), (w, h));
        Assert.False(Vp8Bitstream.TryReadKeyframeSize(frames[1], out _, out _)); // a delta frame
    }
}

public class FrameAssemblerTests
{
    private sealed record Packet(ushort Seq, uint Ts, bool Marker, byte[] Payload);

    private static List<Packet> Packetize(IReadOnlyList<byte[]> frames, int mtu = 1200, ushort firstSeq = 65000)
    {
        var packets = new List<Packet>();
        ushort seq = firstSeq;
        var payload = new byte[mtu];
        for (int i = 0; i < frames.Count; i++)
        {
            var p = new Vp8Packetizer(frames[i], mtu, (ushort)i);
            while (p.TryWriteNext(payload, out int n, out bool last))
            {
                packets.Add(new Packet(seq++, (uint)(i * 3000), last, payload[..n]));
            }
        }

        return packets;
    }

    private static List<byte[]> ThreeHundredClipFrames()
    {
        var clip = Clips.IvfFrames("pattern-1088x624-30fps.ivf");
        return Enumerable.Range(0, 300).Select(i => clip[i % clip.Count]).ToList();
    }

    // Bad input: a packet that neither the sender nor a retransmission ever delivers, then its retransmission far too
    // late. The complete frames behind it wait at most MaxGapWait, then go out (the lost one counted, a keyframe asked
    // for); the late packet is discarded, and the stream goes on in order.
    [Fact]
    public void Frames_held_behind_a_packet_that_never_comes_go_out_once_MaxGapWait_has_passed_and_not_before()
    {
        var packets = Packetize(ThreeHundredClipFrames().Take(12).ToList());
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var assembler = new FrameAssembler(RtpCodec.Vp8) { Time = time };
        Assert.Equal(TimeSpan.FromMilliseconds(250), assembler.MaxGapWait);
        int keyframeAsks = 0;
        assembler.KeyframeNeeded += () => keyframeAsks++;
        var got = new List<uint>();
        void Push(IEnumerable<Packet> some)
        {
            foreach (var p in some)
            {
                assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, ts, _) => got.Add(ts / 3000));
            }
        }

        var lost = packets.First(p => p.Ts == 2 * 3000);
        Push(packets.Where(p => p != lost && p.Ts <= 6 * 3000));
        Assert.Equal([0u, 1u], got); // 3–6 are complete but wait for 2

        time.Advance(TimeSpan.FromMilliseconds(240));
        Push(packets.Where(p => p.Ts == 7 * 3000));
        Assert.Equal([0u, 1u], got); // 240 ms: still waiting for a retransmission
        Assert.Equal(0, assembler.GapsTimedOut);

        time.Advance(TimeSpan.FromMilliseconds(20));
        Push(packets.Where(p => p.Ts == 8 * 3000));
        Assert.Equal([0u, 1u, 3u, 4u, 5u, 6u, 7u, 8u], got); // 260 ms: given up on 2
        Assert.Equal(1, assembler.GapsTimedOut);
        Assert.Equal(1, assembler.FramesDropped);
        Assert.True(keyframeAsks >= 1);

        long discarded = assembler.PacketsDiscarded;
        Push([lost]); // the retransmission, too late
        Assert.Equal(discarded + 1, assembler.PacketsDiscarded);
        Push(packets.Where(p => p.Ts >= 9 * 3000));
        Assert.Equal([0u, 1u, 3u, 4u, 5u, 6u, 7u, 8u, 9u, 10u, 11u], got);
    }

    [Fact]
    public void A_retransmission_inside_MaxGapWait_fills_the_gap_and_every_frame_goes_out_in_order()
    {
        var packets = Packetize(ThreeHundredClipFrames().Take(8).ToList());
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var assembler = new FrameAssembler(RtpCodec.Vp8) { Time = time };
        var got = new List<uint>();
        var lost = packets.First(p => p.Ts == 2 * 3000);
        foreach (var p in packets.Where(p => p != lost).Append(lost))
        {
            time.Advance(TimeSpan.FromMilliseconds(p == lost ? 200 : 1)); // the retransmission 200 ms after the rest
            assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, ts, _) => got.Add(ts / 3000));
        }

        Assert.Equal(Enumerable.Range(0, 8).Select(i => (uint)i), got);
        Assert.Equal((0L, 0L), (assembler.GapsTimedOut, assembler.FramesDropped));
    }

    [Fact]
    public void A_frame_whose_packets_come_slowly_but_with_no_gap_is_not_given_up_on_while_the_clock_runs()
    {
        // The small frame's last packet comes after the big frame's first (reordered), so the clock starts when the
        // small frame goes out; the big frame then trickles in, 400 ms a packet. Nothing complete waits behind it, so
        // the expired clock must not skip it (a skip to "the newest packet + 1" would throw its packets away).
        var packets = Packetize([Clips.Vp8Keyframe(320, 180, 900, 1), Clips.Vp8Keyframe(1088, 624, 6000, 2), Clips.Vp8Keyframe(320, 180, 900, 3)]);
        var small = packets.Where(p => p.Ts == 0).ToList();
        var big = packets.Where(p => p.Ts == 3000).ToList();
        Assert.True(big.Count >= 5);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var assembler = new FrameAssembler(RtpCodec.Vp8) { Time = time };
        var got = new List<uint>();
        void Push(Packet p) => assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, ts, _) => got.Add(ts / 3000));
        small.SkipLast(1).ToList().ForEach(Push);
        Push(big[0]);
        Push(small[^1]);
        Assert.Equal([0u], got);
        foreach (var p in big.Skip(1))
        {
            time.Advance(TimeSpan.FromMilliseconds(400));
            assembler.ReleaseExpired((_, ts, _) => got.Add(ts / 3000));
            Push(p);
        }

        packets.Where(p => p.Ts == 6000).ToList().ForEach(Push);
        Assert.Equal([0u, 1u, 2u], got);
        Assert.Equal((0L, 0L), (assembler.GapsTimedOut, assembler.FramesDropped));
    }

    [Fact]
    public void After_one_gap_is_filled_the_frames_behind_a_second_gap_still_wait_at_most_MaxGapWait()
    {
        // Two gaps (frames 2 and 5); the first is filled at 240 ms, the second never. Frames 6 and 7 were complete all
        // along: they go out 250 ms after the head last moved, not after a new frame completes behind them.
        var packets = Packetize(ThreeHundredClipFrames().Take(12).ToList());
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var assembler = new FrameAssembler(RtpCodec.Vp8) { Time = time };
        var got = new List<uint>();
        void Push(Packet p) => assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, ts, _) => got.Add(ts / 3000));
        var first = packets.First(p => p.Ts == 2 * 3000);
        var second = packets.First(p => p.Ts == 5 * 3000);
        packets.Where(p => p.Ts <= 7 * 3000 && p != first && p != second).ToList().ForEach(Push);
        Assert.Equal([0u, 1u], got);

        time.Advance(TimeSpan.FromMilliseconds(240));
        Push(first);
        Assert.Equal([0u, 1u, 2u, 3u, 4u], got);

        time.Advance(TimeSpan.FromMilliseconds(200));
        assembler.ReleaseExpired((_, ts, _) => got.Add(ts / 3000));
        Assert.Equal([0u, 1u, 2u, 3u, 4u], got); // 200 ms since the head moved

        time.Advance(TimeSpan.FromMilliseconds(60));
        assembler.ReleaseExpired((_, ts, _) => got.Add(ts / 3000)); // 260 ms, and no packet needed to arrive
        Assert.Equal([0u, 1u, 2u, 3u, 4u, 6u, 7u], got);
        Assert.Equal(1, assembler.GapsTimedOut);
        Assert.Equal(1, assembler.FramesDropped);
    }

    // Bad input for the in-order check that resumes where it stopped: a frame half arrived, the assembler flushed (its
    // packets gone), then the frame's first packet and its last ones again, but not the middle. Nothing may be
    // delivered from packets that are no longer there; once the middle comes, the frame goes out bit-exact.
    [Fact]
    public void A_frame_cut_by_Flush_is_not_delivered_from_the_packets_it_had_before()
    {
        var frame = Clips.Vp8Keyframe(1088, 624, 5000, 7);
        var packets = Packetize([Clips.Vp8Keyframe(320, 180, 500, 1), frame]);
        var key = packets.Where(p => p.Ts == 0).ToList();
        var big = packets.Where(p => p.Ts == 3000).ToList();
        Assert.True(big.Count >= 5);
        var assembler = new FrameAssembler(RtpCodec.Vp8);
        var got = new List<byte[]>();
        void Push(Packet p) => assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (f, _, _) => got.Add(f.ToArray()));
        key.ForEach(Push);
        big.Take(3).ToList().ForEach(Push);
        assembler.Flush((f, _, _) => got.Add(f.ToArray()));
        Assert.Single(got);

        Push(big[0]);
        big.Skip(3).ToList().ForEach(Push); // the first and the last ones; the second and third were flushed
        Assert.Single(got);

        Push(big[1]);
        Push(big[2]);
        Assert.Equal(2, got.Count);
        Assert.Equal(frame, got[1]);
    }

    // Bad input: a sequence number one ring's size past a pending packet lands in that packet's slot, while the head
    // frame's in-order check had already walked over it. The frame must not be built from the newcomer's payload.
    [Fact]
    public void A_packet_that_lands_in_the_slot_of_a_pending_one_never_completes_the_head_frame_with_its_payload()
    {
        byte[] Frame(int size, int seed)
        {
            var f = new byte[size];
            new Random(seed).NextBytes(f);
            f[0] = 0x11; // a delta frame (inter), shown
            return f;
        }

        // A: a keyframe in one packet (99); B: 100, 101 (101 never comes); C: 102; D: 103, 104, 105 (105 held back).
        var packets = Packetize([Clips.Vp8Keyframe(320, 180, 150, 1), Frame(300, 2), Frame(150, 3), Frame(500, 4)], mtu: 200, firstSeq: 99);
        Assert.Equal(7, packets.Count);
        var assembler = new FrameAssembler(RtpCodec.Vp8, capacity: 16);
        var got = new List<uint>();
        void Push(Packet p) => assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, ts, _) => got.Add(ts / 3000));
        foreach (var p in packets.Where(p => p.Seq != 101 && p.Seq != 105))
        {
            Push(p);
        }

        Assert.Equal([0u], got);
        // Sequence 120 shares packet 104's slot; it carries D's timestamp and a marker, and is not a frame start.
        Push(new Packet(120, 3 * 3000, true, [0x00, 1, 2, 3, 4]));
        Assert.DoesNotContain(3u, got); // D is not "complete" with 120's bytes in place of 104's
    }

    [Fact]
    public void With_MaxGapWait_zero_only_the_reorder_window_gives_up_on_a_gap()
    {
        var packets = Packetize(ThreeHundredClipFrames().Take(8).ToList());
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var assembler = new FrameAssembler(RtpCodec.Vp8) { Time = time, MaxGapWait = TimeSpan.Zero };
        var got = new List<uint>();
        var lost = packets.First(p => p.Ts == 2 * 3000);
        foreach (var p in packets.Where(p => p != lost))
        {
            time.Advance(TimeSpan.FromSeconds(1));
            assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, ts, _) => got.Add(ts / 3000));
        }

        Assert.Equal([0u, 1u], got);
        Assert.Equal(0, assembler.GapsTimedOut);
    }

    [Fact]
    public void Three_hundred_real_vp8_frames_arrive_bit_exact_and_in_order_despite_reordering_and_duplicates()
    {
        var frames = ThreeHundredClipFrames();
        var packets = Packetize(frames);
        var rng = new Random(42);
        // Shuffle within windows of 8 packets and duplicate every 10th packet.
        var delivered = new List<Packet>();
        for (int i = 0; i < packets.Count; i += 8)
        {
            var window = packets.Skip(i).Take(8).OrderBy(_ => rng.Next()).ToList();
            delivered.AddRange(window);
            if (i % 10 == 0)
            {
                delivered.Add(window[0]);
            }
        }

        var assembler = new FrameAssembler(RtpCodec.Vp8);
        var got = new List<(byte[] Frame, uint Ts, bool Key)>();
        foreach (var p in delivered)
        {
            assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (f, ts, key) => got.Add((f.ToArray(), ts, key)));
        }

        Assert.Equal(300, got.Count);
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal((uint)(i * 3000), got[i].Ts);
            Assert.Equal(frames[i], got[i].Frame);
        }

        Assert.True(got[0].Key);
        Assert.Equal(0, assembler.FramesDropped);
        Assert.True(assembler.PacketsDiscarded > 0);
    }

    [Fact]
    public void Lost_packets_drop_their_frames_count_them_and_ask_for_a_keyframe()
    {
        var frames = ThreeHundredClipFrames();
        var packets = Packetize(frames);
        var rng = new Random(7);
        var lost = packets.Skip(3).Where(_ => rng.NextDouble() < 0.05).Select(p => p.Seq).ToHashSet();
        var assembler = new FrameAssembler(RtpCodec.Vp8);
        int keyframeEvents = 0;
        assembler.KeyframeNeeded += () => keyframeEvents++;
        var got = new List<(byte[] Frame, uint Ts)>();
        foreach (var p in packets.Where(p => !lost.Contains(p.Seq)))
        {
            assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (f, ts, _) => got.Add((f.ToArray(), ts)));
        }

        assembler.Flush((f, ts, _) => got.Add((f.ToArray(), ts)));
        int framesHit = packets.Where(p => lost.Contains(p.Seq)).Select(p => p.Ts).Distinct().Count();
        int fullyLost = packets.GroupBy(p => p.Ts).Count(g => g.All(p => lost.Contains(p.Seq)));
        Assert.True(framesHit > 0);
        Assert.Equal(300 - framesHit, got.Count); // every intact frame is delivered
        // Frames with a surviving packet are counted exactly; a frame whose packets were all lost leaves no trace
        // of its own, so a gap of them counts at least once.
        Assert.InRange(assembler.FramesDropped, framesHit - fullyLost, framesHit);
        Assert.True(keyframeEvents > 0);
        Assert.All(got, g => Assert.Equal(frames[(int)(g.Ts / 3000)], g.Frame)); // what arrives is intact
        Assert.Equal(got.Select(g => g.Ts).Order(), got.Select(g => g.Ts)); // and in order
    }

    [Fact]
    public void A_flood_of_unique_timestamps_and_garbage_keeps_memory_bounded_and_never_throws()
    {
        var assembler = new FrameAssembler(RtpCodec.Vp8, capacity: 64);
        var rng = new Random(3);
        var payload = new byte[300];
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100_000; i++)
        {
            rng.NextBytes(payload);
            assembler.Push((ushort)rng.Next(65536), (uint)rng.Next(), rng.Next(3) == 0, payload.AsSpan(0, rng.Next(0, 300)), static (_, _, _) => { });
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1_000_000, $"allocated {allocated} bytes for 100k packets"); // no per-packet allocation
        Assert.True(assembler.PacketsDiscarded + assembler.FramesDropped + assembler.FramesAssembled > 0);
    }

    [Fact]
    public void Joining_mid_stream_waits_for_a_keyframe()
    {
        var frames = ThreeHundredClipFrames();
        var packets = Packetize(frames).Where(p => p.Ts >= 3000).ToList(); // the first keyframe is missing
        var assembler = new FrameAssembler(RtpCodec.Vp8);
        int requests = 0;
        assembler.KeyframeNeeded += () => requests++;
        var got = new List<bool>();
        foreach (var p in packets.Take(40))
        {
            assembler.Push(p.Seq, p.Ts, p.Marker, p.Payload, (_, _, key) => got.Add(key));
        }

        Assert.Empty(got);
        Assert.True(requests > 0);
    }
}

public class H264Tests
{
    private static byte[] FirstSps()
    {
        var stream = File.ReadAllBytes(Clips.Path("pattern-1088x624-30fps.h264")).AsSpan();
        ReadOnlySpan<byte> rest = stream;
        while (H264Nal.TryReadNext(ref rest, out var nal))
        {
            if (H264Nal.Type(nal[0]) == 7)
            {
                return nal.ToArray();
            }
        }

        throw new InvalidOperationException("no SPS in the clip");
    }

    [Theory]
    [InlineData("pattern-1088x624-30fps.h264", 1088, 624)]
    [InlineData("pattern-1280x704-30fps.h264", 1280, 704)]
    public void Sps_of_the_shipped_clips_gives_their_size(string clip, int width, int height)
    {
        var stream = File.ReadAllBytes(Clips.Path(clip));
        Assert.True(H264Nal.TryReadSize(stream, out int w, out int h));
        Assert.Equal((width, height), (w, h));
        Assert.True(H264Nal.IsKeyframe(stream));
    }

    [Theory]
    [InlineData("67 42 c0 1f da 01 40 16 e8 40 00 00 03 00 40 00 00 0f 03 c6 0c a8", 1280, 720)] // constrained baseline 3.1, 1280x720
    public void Known_sps_sizes(string hex, int width, int height)
    {
        Assert.True(H264Nal.TryParseSps(Hex.Parse(hex), out int w, out int h));
        Assert.Equal((width, height), (w, h));
    }

    private static byte[] AccessUnit(params byte[][] nals) => nals.SelectMany(n => new byte[] { 0, 0, 0, 1 }.Concat(n)).ToArray();

    [Theory]
    [InlineData(1200)]
    [InlineData(300)]
    public void Stap_a_and_fu_a_round_trip_an_access_unit(int mtu)
    {
        var sps = FirstSps();
        byte[] pps = [0x68, 0xce, 0x3c, 0x80];
        var idr = new byte[5000];
        new Random(1).NextBytes(idr);
        idr[0] = 0x65;
        var slice2 = new byte[100];
        new Random(2).NextBytes(slice2);
        slice2[0] = 0x65;
        var au = AccessUnit(sps, pps, idr, slice2);

        var payload = new byte[mtu];
        var packetizer = new H264Packetizer(au, mtu);
        var types = new List<int>();
        var assembler = new FrameAssembler(RtpCodec.H264);
        byte[]? got = null;
        bool key = false;
        ushort seq = 10;
        int packets = 0;
        while (packetizer.TryWriteNext(payload, out int n, out bool last))
        {
            Assert.True(n <= mtu);
            types.Add(payload[0] & 0x1F);
            assembler.Push(seq++, 90000, last, payload.AsSpan(0, n), (f, _, k) => { got = f.ToArray(); key = k; });
            packets++;
        }

        Assert.Contains(24, types); // SPS+PPS aggregated
        Assert.Contains(28, types); // the IDR fragmented
        Assert.NotNull(got);
        Assert.Equal(au, got);
        Assert.True(key);
    }

    [Fact]
    public void Malformed_payloads_are_rejected_without_exceptions()
    {
        var output = new byte[100];
        Assert.False(H264Depacketizer.TryAppend([], output, out _));
        Assert.False(H264Depacketizer.TryAppend([0x18, 0x00, 0x50, 0x67], output, out _)); // STAP-A size past the end
        Assert.False(H264Depacketizer.TryAppend([0x1c], output, out _));                   // FU-A without header
        Assert.False(H264Depacketizer.TryAppend([0x1e, 1, 2], output, out _));             // type 30: unsupported
        Assert.False(H264Depacketizer.TryAppend(new byte[200], output, out _) && false);
        Assert.False(H264Nal.TryParseSps([0x67, 0xff], out _, out _));
    }

    [Fact]
    public void Random_payloads_and_sps_never_throw()
    {
        var output = new byte[4096];
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            _ = H264Depacketizer.TryAppend(bytes, output, out _);
            _ = H264Depacketizer.StartsKeyframe(bytes);
            _ = H264Nal.TryParseSps([0x67, .. bytes], out _, out _);
            _ = H264Nal.TryReadSize(bytes, out _, out _);
            _ = Vp8Descriptor.TryParse(bytes, out _);
            _ = Vp8Bitstream.TryReadKeyframeSize(bytes, out _, out _);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(5000));
    }
}
