using Decart.Rtc.Rtp;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Rtc.Tests.Rtp;

public class RtpTests
{
    // A Chromium VP8 packet: PT 96, marker, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304, one-byte extensions
    // id 1 (3 bytes) and id 3 (1 byte) padded to a word, then a 4-byte payload.
    private static readonly byte[] Known = Hex.Parse("""
        90 e0 12 34 de ad be ef 01 02 03 04
        be de 00 02 12 aa bb cc 30 01 00 00
        10 20 30 40
        """);

    [Fact]
    public void Parses_a_known_packet()
    {
        Assert.True(RtpHeader.TryParse(Known, out var h, out _));
        Assert.True(h.Marker);
        Assert.Equal(96, h.PayloadType);
        Assert.Equal(0x1234, h.SequenceNumber);
        Assert.Equal(0xdeadbeefu, h.Timestamp);
        Assert.Equal(0x01020304u, h.Ssrc);
        Assert.True(h.TryGetExtension(Known, 1, out var e1));
        Assert.Equal(new byte[] { 0xaa, 0xbb, 0xcc }, e1.ToArray());
        Assert.True(h.TryGetExtension(Known, 3, out var e3));
        Assert.Equal(new byte[] { 0x01 }, e3.ToArray());
        Assert.False(h.TryGetExtension(Known, 2, out _));
        Assert.Equal(new byte[] { 0x10, 0x20, 0x30, 0x40 }, h.Payload(Known).ToArray());
    }

    [Fact]
    public void Writer_reproduces_the_known_packet()
    {
        var buffer = new byte[64];
        var w = new RtpWriter(buffer, 96, 0x1234, 0xdeadbeef, 0x01020304, marker: true);
        w.AddExtension(1, [0xaa, 0xbb, 0xcc]);
        w.AddExtension(3, [0x01]);
        int n = w.WritePayload([0x10, 0x20, 0x30, 0x40]);
        Assert.Equal(Convert.ToHexString(Known), Convert.ToHexString(buffer, 0, n));
    }

    [Fact]
    public void Round_trips_csrcs_and_two_byte_extensions_property()
    {
        var gen = from pt in Gen.Choose(0, 127)
                  from seq in Gen.Choose(0, 65535)
                  from ts in ArbMap.Default.GeneratorFor<uint>()
                  from ssrc in ArbMap.Default.GeneratorFor<uint>()
                  from marker in ArbMap.Default.GeneratorFor<bool>()
                  from csrcs in Gen.ArrayOf(ArbMap.Default.GeneratorFor<uint>()).Select(a => a.Take(15).ToArray())
                  from twoByte in ArbMap.Default.GeneratorFor<bool>()
                  from extLen in Gen.Choose(0, 16)
                  from payload in ArbMap.Default.GeneratorFor<byte[]>()
                  select (pt, seq, ts, ssrc, marker, csrcs, twoByte, extLen, payload);
        Prop.ForAll(gen.ToArbitrary(), t =>
        {
            var buffer = new byte[2048];
            var w = new RtpWriter(buffer, (byte)t.pt, (ushort)t.seq, t.ts, t.ssrc, t.marker, t.csrcs, t.twoByte ? RtpExtensionProfile.TwoByte : RtpExtensionProfile.OneByte);
            var ext = Enumerable.Range(1, Math.Max(1, t.extLen)).Select(i => (byte)i).ToArray();
            if (t.extLen > 0)
            {
                w.AddExtension(t.twoByte ? 200 : 7, ext);
            }

            int n = w.WritePayload(t.payload);
            var packet = buffer.AsSpan(0, n);
            bool ok = RtpHeader.TryParse(packet, out var h, out _)
                && h.PayloadType == t.pt && h.SequenceNumber == t.seq && h.Timestamp == t.ts && h.Ssrc == t.ssrc && h.Marker == t.marker
                && h.CsrcCount == t.csrcs.Length && Enumerable.Range(0, t.csrcs.Length).All(i => h.GetCsrc(buffer.AsSpan(0, n), i) == t.csrcs[i])
                && h.Payload(packet).SequenceEqual(t.payload);
            if (t.extLen > 0)
            {
                ok &= h.TryGetExtension(packet, t.twoByte ? 200 : 7, out var v) && v.SequenceEqual(ext);
            }

            return ok;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    public static TheoryData<string, byte[], RtpParseError> Malformed() => new()
    {
        { "11 bytes", Known[..11], RtpParseError.TooShort },
        { "version 1", [0x50, .. Known[1..]], RtpParseError.BadVersion },
        { "15 CSRCs in a short packet", [0x8f, .. Known[1..16]], RtpParseError.TruncatedHeader },
        { "extension length past the end", [.. Known[..14], 0x00, 0x40, .. Known[16..]], RtpParseError.TruncatedHeader },
        { "padding larger than payload", [0xb0, .. Known[1..^1], 0xff], RtpParseError.BadPadding },
        { "zero padding count", [0xb0, .. Known[1..^1], 0x00], RtpParseError.BadPadding },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_packets_get_a_named_error(string what, byte[] bytes, RtpParseError expected)
    {
        Assert.False(RtpHeader.TryParse(bytes, out _, out var error), what);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Random_and_mutated_packets_never_throw()
    {
        int cases = Environment.GetEnvironmentVariable("LONG_FUZZ") == "1" ? 1_000_000 : 5_000;
        var mutated = from flips in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, 27), Gen.Choose(0, 255)))
                      select Mutate(Known, flips);
        Prop.ForAll(Gen.OneOf(mutated, ArbMap.Default.GeneratorFor<byte[]>()).ToArbitrary(), bytes =>
        {
            if (RtpHeader.TryParse(bytes, out var h, out _))
            {
                for (int id = 0; id < 16; id++)
                {
                    _ = h.TryGetExtension(bytes, id, out _);
                }

                _ = h.Payload(bytes).Length;
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(cases));
    }

    private static byte[] Mutate(byte[] seed, (int Index, int Value)[] flips)
    {
        var copy = (byte[])seed.Clone();
        foreach (var (i, v) in flips)
        {
            copy[i % copy.Length] = (byte)v;
        }

        return copy;
    }

    [Theory]
    [InlineData(1, 0, true)]
    [InlineData(0, 65535, true)]
    [InlineData(65535, 0, false)]
    [InlineData(100, 100, false)]
    [InlineData(40000, 100, false)]
    public void Sequence_comparison_wraps(int a, int b, bool newer) => Assert.Equal(newer, SequenceNumber.IsNewer((ushort)a, (ushort)b));

    [Fact]
    public void Unwrapper_extends_across_wraps_and_tolerates_reordering()
    {
        var u = new SequenceUnwrapper();
        Assert.Equal(65534, u.Unwrap(65534));
        Assert.Equal(65536, u.Unwrap(0));
        Assert.Equal(65535, u.Unwrap(65535)); // late packet
        Assert.Equal(65537, u.Unwrap(1));
    }

    [Fact]
    public void Send_buffer_answers_nacks_and_forgets_overwritten_packets()
    {
        var buffer = new RtpSendBuffer(capacity: 16);
        var packet = new byte[100];
        for (int seq = 65530; seq < 65530 + 40; seq++)
        {
            var w = new RtpWriter(packet, 96, (ushort)seq, 0, 1, false);
            int n = w.WritePayload([(byte)seq]);
            Assert.True(buffer.Store((ushort)seq, packet.AsSpan(0, n)));
        }

        const ushort newest = unchecked((ushort)(65530 + 39));
        Assert.True(buffer.TryGet(newest, out var last));
        Assert.True(RtpHeader.TryParse(last, out var h, out _));
        Assert.Equal(newest, h.SequenceNumber);
        Assert.Equal(unchecked((byte)newest), h.Payload(last)[0]);
        Assert.False(buffer.TryGet(65530, out _)); // overwritten
        Assert.False(buffer.Store(1, new byte[2000]));
    }

    [Fact]
    public void Rtx_wraps_and_unwraps_to_the_original()
    {
        var original = new byte[64];
        var w = new RtpWriter(original, 96, 777, 90000, 0xAAAA, true);
        w.AddExtension(2, [9, 9]);
        int n = w.WritePayload([1, 2, 3, 4, 5]);
        var rtx = new byte[80];
        int r = Rtx.Wrap(rtx, original.AsSpan(0, n), 97, 5, 0xBBBB);
        Assert.True(RtpHeader.TryParse(rtx.AsSpan(0, r), out var h, out _));
        Assert.Equal((97, (ushort)5, 0xBBBBu), (h.PayloadType, h.SequenceNumber, h.Ssrc));
        Assert.Equal(new byte[] { 0x03, 0x09, 1, 2, 3, 4, 5 }, h.Payload(rtx.AsSpan(0, r)).ToArray());
        var back = new byte[80];
        int b = Rtx.Unwrap(back, rtx.AsSpan(0, r), 96, 0xAAAA);
        Assert.Equal(original.AsSpan(0, n).ToArray(), back.AsSpan(0, b).ToArray());
    }
}

public class NackGeneratorTests
{
    [Fact]
    public void Gaps_are_nacked_until_filled_or_given_up_across_a_wrap()
    {
        var g = new NackGenerator(maxPending: 8, maxRetries: 2);
        g.OnReceived(65534);
        g.OnReceived(1); // 65535 and 0 missing
        Span<ushort> nacks = stackalloc ushort[16];
        Assert.Equal([65535, 0], nacks[..g.CollectNacks(nacks)].ToArray());
        g.OnReceived(0); // retransmission arrived
        Assert.Equal([65535], nacks[..g.CollectNacks(nacks)].ToArray());
        Assert.Equal(0, g.CollectNacks(nacks)); // two retries used up
        Assert.Equal(1, g.GivenUp);
    }

    [Fact]
    public void A_huge_jump_does_not_grow_memory()
    {
        var g = new NackGenerator(maxPending: 8);
        g.OnReceived(100);
        g.OnReceived(30000);
        Assert.Equal(0, g.PendingCount);
        Assert.True(g.GivenUp > 0);
        g.OnReceived(30005);
        Assert.Equal(4, g.PendingCount);
        for (ushort s = 30007; s < 30020; s += 2)
        {
            g.OnReceived(s); // one missing before each: more than maxPending in total
        }

        Assert.Equal(8, g.PendingCount); // bounded: the oldest were given up
    }
}
