using Decart.Rtc.LiveKit;

namespace Decart.Rtc.Tests.LiveKit;

/// <summary>livekit-client's frame-metadata packet trailer (LKTS): the bytes it writes and reads, and frames that only look like one.</summary>
public class PacketTrailerTests
{
    private static readonly byte[] Payload = [0x9D, 0x01, 0x2A, 0x10, 0x20, 0x30];

    [Fact]
    public void A_timestamp_trailer_is_the_xored_tlv_the_length_and_the_magic()
    {
        var trailer = new byte[PacketTrailer.TimestampTrailerSize];
        Assert.Equal(15, PacketTrailer.WriteTimestamp(trailer, 0x0102030405060708));
        // tag 1 ^ 0xFF, length 8 ^ 0xFF, the big-endian value with every byte ^ 0xFF, total length 15 ^ 0xFF, "LKTS".
        Assert.Equal([0xFE, 0xF7, 0xFE, 0xFD, 0xFC, 0xFB, 0xFA, 0xF9, 0xF8, 0xF7, 0xF0, (byte)'L', (byte)'K', (byte)'T', (byte)'S'], trailer);
    }

    [Fact]
    public void A_written_trailer_reads_back_and_is_stripped_to_the_payload()
    {
        ulong now = 1_780_000_000_123_456;
        var frame = new byte[Payload.Length + PacketTrailer.TimestampTrailerSize];
        Payload.CopyTo(frame, 0);
        PacketTrailer.WriteTimestamp(frame.AsSpan(Payload.Length), now);
        Assert.Equal(Payload.Length, PacketTrailer.Read(frame, out ulong timestamp, out uint id));
        Assert.Equal((now, 0u), (timestamp, id));
    }

    [Fact]
    public void A_frame_id_and_user_data_are_read_past_and_an_id_alone_counts_as_a_trailer()
    {
        // As livekit-client writes both: timestamp TLV, frame-id TLV (tag 2, 4 bytes), length 21, magic.
        byte[] both = [.. Payload, 0xFE, 0xF7, .. Xor(0, 0, 0, 0, 0, 0, 0x03, 0xE8), 0xFD, 0xFB, .. Xor(0, 0, 0, 42), 21 ^ 0xFF, .. "LKTS"u8];
        Assert.Equal(Payload.Length, PacketTrailer.Read(both, out ulong ts, out uint id));
        Assert.Equal((1000ul, 42u), (ts, id));

        byte[] idOnly = [.. Payload, 0xFD, 0xFB, .. Xor(0, 0, 0, 7), 11 ^ 0xFF, .. "LKTS"u8];
        Assert.Equal(Payload.Length, PacketTrailer.Read(idOnly, out ts, out id));
        Assert.Equal((0ul, 7u), (ts, id));

        byte[] userData = [.. Payload, 0xFC, 0xFD, .. Xor(1, 2), 9 ^ 0xFF, .. "LKTS"u8];
        Assert.Equal(Payload.Length, PacketTrailer.Read(userData, out ts, out _));
        Assert.Equal(0ul, ts);
    }

    public static TheoryData<string, byte[]> NotTrailers => new()
    {
        { "empty", [] },
        { "shorter than the envelope", [.. "KTS"u8] },
        { "no magic", [.. Payload, 0xF0, .. "LKTX"u8] },
        { "length below the envelope", [.. Payload, 4 ^ 0xFF, .. "LKTS"u8] },
        { "length past the frame's start", [.. Payload, 200 ^ 0xFF, .. "LKTS"u8] },
        { "only the envelope (no TLV)", [.. Payload, 5 ^ 0xFF, .. "LKTS"u8] },
        { "a TLV whose length runs past the envelope", [.. Payload, 0xFE, 0xF7, 1, 2, 3, 10 ^ 0xFF, .. "LKTS"u8] },
        { "an unknown tag only", [.. Payload, 0xF0, 0xFD, 0, 0, 9 ^ 0xFF, .. "LKTS"u8] },
        { "a timestamp TLV of the wrong length", [.. Payload, 0xFE, 0xFB, 0, 0, 0, 0, 11 ^ 0xFF, .. "LKTS"u8] },
        { "random bytes ending in the magic with a zero length byte", [.. Payload, 0xFF, .. "LKTS"u8] },
    };

    [Theory]
    [MemberData(nameof(NotTrailers))]
    public void A_frame_that_only_looks_like_it_has_a_trailer_is_all_payload(string what, byte[] frame)
    {
        int payload = PacketTrailer.Read(frame, out ulong ts, out uint id);
        Assert.Equal((what, frame.Length, 0ul, 0u), (what, payload, ts, id));
    }

    [Fact]
    public void Random_frames_never_throw_and_never_strip_more_than_they_hold()
    {
        var random = new Random(1234);
        var frame = new byte[64];
        for (int i = 0; i < 20_000; i++)
        {
            int length = random.Next(0, frame.Length + 1);
            random.NextBytes(frame);
            if (i % 2 == 0 && length >= 5)
            {
                "LKTS"u8.CopyTo(frame.AsSpan(length - 4)); // half of them end in the magic, with a random length byte
            }

            int payload = PacketTrailer.Read(frame.AsSpan(0, length), out _, out _);
            Assert.InRange(payload, 0, length);
        }
    }

    [Fact]
    public void A_zero_timestamp_writes_nothing_and_a_short_destination_is_refused()
    {
        Assert.Equal(0, PacketTrailer.WriteTimestamp(new byte[15], 0));
        Assert.Throws<ArgumentException>(() => PacketTrailer.WriteTimestamp(new byte[14], 1));
    }

    private static byte[] Xor(params byte[] bytes) => [.. bytes.Select(b => (byte)(b ^ 0xFF))];
}
