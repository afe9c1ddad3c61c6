using Decart.Rtc.Rtcp;
using Decart.Rtc.Rtp;
using Decart.Rtc.Srtp;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Rtc.Tests.Srtp;

public class SrtpVectorTests
{
    [Fact]
    public void Rfc3711_B2_aes_cm_keystream_start_and_end()
    {
        using var ctx = SrtpContext.FromSessionKeys(SrtpProfile.Aes128CmHmacSha1_80, Hex.Parse("2B7E151628AED2A6ABF7158809CF4F3C"), Hex.Parse("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"), new byte[20]);
        Span<byte> iv = stackalloc byte[16];
        SrtpContext.CmIv(iv, Hex.Parse("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"), 0, 0);
        Assert.Equal("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000", Convert.ToHexString(iv));
        var keystream = new byte[1044512];
        using var aes = System.Security.Cryptography.Aes.Create();
        aes.Mode = System.Security.Cryptography.CipherMode.ECB;
        aes.Padding = System.Security.Cryptography.PaddingMode.None;
        aes.Key = Hex.Parse("2B7E151628AED2A6ABF7158809CF4F3C");
        using var ecb = aes.CreateEncryptor();
        ctx.XorKeystream(ecb, iv, keystream);
        Assert.Equal("E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0", Convert.ToHexString(keystream, 0, 48));
        Assert.Equal("EC8CDF7398607CB0F2D21675EA9EA1E4362B7C3C6773516318A077D7FC5073AE6A2CC3787889374FBEB4C81B17BA6C44", Convert.ToHexString(keystream, keystream.Length - 48, 48));
    }

    [Fact]
    public void Rfc3711_B3_key_derivation()
    {
        var key = Hex.Parse("E1F97A0D3E018BE0D64FA32C06DE4139");
        var salt = Hex.Parse("0EC675AD498AFEEBB6960B3AABE6");
        var cipherKey = new byte[16];
        var cipherSalt = new byte[14];
        var authKey = new byte[20];
        SrtpContext.DeriveKey(key, salt, 0, cipherKey);
        SrtpContext.DeriveKey(key, salt, 2, cipherSalt);
        SrtpContext.DeriveKey(key, salt, 1, authKey);
        Assert.Equal("C61E7A93744F39EE10734AFE3FF7A087", Convert.ToHexString(cipherKey));
        Assert.Equal("30CBBC08863D8C85D49DB34A9AE1", Convert.ToHexString(cipherSalt));
        Assert.Equal("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", Convert.ToHexString(authKey));
    }

    private static readonly byte[] GcmKey = Hex.Parse("000102030405060708090a0b0c0d0e0f");
    private static readonly byte[] GcmSalt = Hex.Parse("517569642070726f2071756f");

    private static readonly byte[] Rfc7714Rtp = Hex.Parse("""
        8040f17b 8041f8d3 5501a0b2 47616c6c 69612065 7374206f 6d6e6973
        20646976 69736120 696e2070 61727465 73207472 6573
        """);

    private static readonly byte[] Rfc7714Srtp = Hex.Parse("""
        8040f17b 8041f8d3 5501a0b2
        f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b 36de3adf 8833
        899d7f27 beb16a91 52cf765e e4390cce
        """);

    [Fact]
    public void Rfc7714_16_1_aes_128_gcm_rtp_protect_and_unprotect()
    {
        using var sender = SrtpContext.FromSessionKeys(SrtpProfile.AeadAes128Gcm, GcmKey, GcmSalt, []);
        var buffer = new byte[Rfc7714Srtp.Length];
        Rfc7714Rtp.CopyTo(buffer, 0);
        Assert.Equal(SrtpError.None, sender.ProtectRtp(buffer, Rfc7714Rtp.Length, out int n));
        Assert.Equal(Convert.ToHexString(Rfc7714Srtp), Convert.ToHexString(buffer, 0, n));

        using var receiver = SrtpContext.FromSessionKeys(SrtpProfile.AeadAes128Gcm, GcmKey, GcmSalt, []);
        Assert.Equal(SrtpError.None, receiver.UnprotectRtp(buffer, n, out int plain));
        Assert.Equal(Convert.ToHexString(Rfc7714Rtp), Convert.ToHexString(buffer, 0, plain));
    }

    [Fact]
    public void Rfc7714_ivs_for_rtp_and_rtcp()
    {
        Span<byte> nonce = stackalloc byte[12];
        SrtpContext.RtpGcmNonce(nonce, GcmSalt, 0x5501a0b2, 0, 0xf17b);
        Assert.Equal("51753C6580C2726F20718414", Convert.ToHexString(nonce));
        SrtpContext.RtcpGcmNonce(nonce, GcmSalt, 0x4d617273, 0x5d4);
        Assert.Equal("517524055203726F207170BB", Convert.ToHexString(nonce));
    }

    [Fact]
    public void Rfc7714_17_srtcp_gcm_unprotects_the_vector()
    {
        // §17.2 uses the 256-bit key; the SRTCP transform is the same for both key sizes.
        var key256 = Hex.Parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        var protectedRtcp = Hex.Parse("""
            81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c28
            2c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de047
            6f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4
            """);
        var plainRtcp = Hex.Parse("81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef");
        using var receiver = SrtpContext.FromSessionKeys(SrtpProfile.AeadAes128Gcm, key256, GcmSalt, []);
        var buffer = (byte[])protectedRtcp.Clone();
        Assert.Equal(SrtpError.None, receiver.UnprotectRtcp(buffer, buffer.Length, out int n));
        Assert.Equal(Convert.ToHexString(plainRtcp), Convert.ToHexString(buffer, 0, n));
        var again = (byte[])protectedRtcp.Clone();
        Assert.Equal(SrtpError.ReplayDetected, receiver.UnprotectRtcp(again, again.Length, out _));
    }
}

public class SrtpRoundTripTests
{
    private static SrtpKeyingMaterial Keys(SrtpProfile profile, byte seed)
    {
        byte[] Fill(int n, byte b) => Enumerable.Range(0, n).Select(i => (byte)(b + i)).ToArray();
        return new SrtpKeyingMaterial(profile, Fill(16, seed), Fill(profile.SaltLength(), (byte)(seed + 50)), Fill(16, (byte)(seed + 100)), Fill(profile.SaltLength(), (byte)(seed + 150)));
    }

    private static SrtpKeyingMaterial Mirror(SrtpKeyingMaterial k) => new(k.Profile, k.RemoteMasterKey, k.RemoteMasterSalt, k.LocalMasterKey, k.LocalMasterSalt);

    private static int Rtp(byte[] buffer, ushort seq, uint ssrc, int payloadLength)
    {
        var w = new RtpWriter(buffer, 96, seq, seq * 3000u, ssrc, seq % 5 == 0);
        w.AddExtension(3, [1, 2, 3]);
        var payload = Enumerable.Range(0, payloadLength).Select(i => (byte)(i * 7 + seq)).ToArray();
        return w.WritePayload(payload);
    }

    [Theory]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    public void Rtp_round_trips_across_a_sequence_wrap_with_reordering(SrtpProfile profile)
    {
        var keys = Keys(profile, 1);
        using var a = new SrtpSession(keys);
        using var b = new SrtpSession(Mirror(keys));
        var sent = new List<byte[]>();
        for (int i = 0; i < 300; i++)
        {
            ushort seq = unchecked((ushort)(65400 + i)); // crosses the 16-bit wrap: ROC 0 → 1
            var buffer = new byte[1500];
            int n = Rtp(buffer, seq, 0xABCDEF01, 200 + i);
            var plain = buffer[..n];
            Assert.Equal(SrtpError.None, a.Outbound.ProtectRtp(buffer, n, out int p));
            Assert.NotEqual(plain[20..], buffer[20..n]); // payload encrypted
            sent.Add([.. plain, .. buffer[n..p]]);
            sent[^1] = buffer[..p];
        }

        // Deliver with pairs swapped (reordering within the window).
        var order = Enumerable.Range(0, 300).Select(i => i % 2 == 0 ? Math.Min(i + 1, 299) : i - 1).ToArray();
        foreach (int i in order)
        {
            var packet = (byte[])sent[i].Clone();
            Assert.Equal(SrtpError.None, b.Inbound.UnprotectRtp(packet, packet.Length, out int plain));
            var expected = new byte[1500];
            int n = Rtp(expected, unchecked((ushort)(65400 + i)), 0xABCDEF01, 200 + i);
            Assert.Equal(expected[..n], packet[..plain]);
        }
    }

    [Theory]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    public void Padding_only_packets_round_trip_whatever_their_encrypted_count_byte(SrtpProfile profile)
    {
        // SRTP encrypts the padding, count byte included: a receiver that read the count before decrypting refused
        // about one padded packet in 256 (the ciphertext byte was 0) — a bandwidth probe's packets, or a browser's.
        var keys = Keys(profile, 3);
        using var a = new SrtpSession(keys);
        using var b = new SrtpSession(Mirror(keys));
        var buffer = new byte[1500];
        int zeroCountBytes = 0;
        for (int i = 0; i < 2000; i++)
        {
            var writer = new RtpWriter(buffer, 97, (ushort)i, 90_000, 0x5EED, false);
            writer.AddExtension(3, [(byte)(i >> 8), (byte)i]);
            int n = writer.WritePadding(255);
            Assert.Equal(SrtpError.None, a.Outbound.ProtectRtp(buffer, n, out int p));
            zeroCountBytes += buffer[n - 1] == 0 ? 1 : 0;
            Assert.Equal(SrtpError.None, b.Inbound.UnprotectRtp(buffer, p, out int plain));
            Assert.True(RtpHeader.TryParse(buffer.AsSpan(0, plain), out var header, out _));
            Assert.Equal((0, 255), (header.PayloadLength, header.PaddingLength));
        }

        Assert.True(zeroCountBytes > 0, "some encrypted count bytes were 0: the case is exercised");
    }

    [Theory]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    public void Tampering_replay_and_wrong_keys_are_rejected(SrtpProfile profile)
    {
        var keys = Keys(profile, 9);
        using var a = new SrtpSession(keys);
        using var b = new SrtpSession(Mirror(keys));
        using var stranger = new SrtpSession(Mirror(Keys(profile, 77)));
        var buffer = new byte[1500];
        int n = Rtp(buffer, 10, 5, 100);
        a.Outbound.ProtectRtp(buffer, n, out int p);
        var good = buffer[..p];

        for (int i = 0; i < p; i += 7)
        {
            var bad = (byte[])good.Clone();
            bad[i] ^= 0x40;
            var result = b.Inbound.UnprotectRtp(bad, bad.Length, out _);
            Assert.True(result is SrtpError.AuthenticationFailed or SrtpError.Malformed or SrtpError.ReplayDetected, $"byte {i}: {result}");
        }

        var copy = (byte[])good.Clone();
        Assert.Equal(SrtpError.AuthenticationFailed, stranger.Inbound.UnprotectRtp(copy, copy.Length, out _));
        copy = (byte[])good.Clone();
        Assert.Equal(SrtpError.None, b.Inbound.UnprotectRtp(copy, copy.Length, out _));
        copy = (byte[])good.Clone();
        Assert.Equal(SrtpError.ReplayDetected, b.Inbound.UnprotectRtp(copy, copy.Length, out _));
        Assert.Equal(SrtpError.TooShort, b.Inbound.UnprotectRtp(new byte[10], 10, out _));
        Assert.Equal(SrtpError.BufferTooSmall, a.Outbound.ProtectRtp(buffer.AsSpan(0, n), n, out _));
    }

    [Fact]
    public void Packets_older_than_the_window_are_replays()
    {
        var keys = Keys(SrtpProfile.Aes128CmHmacSha1_80, 3);
        using var a = new SrtpSession(keys);
        using var b = new SrtpSession(Mirror(keys));
        var old = new byte[200]; // sequence 1, delivered only after the window has moved past it
        int n = Rtp(old, 1, 7, 20);
        a.Outbound.ProtectRtp(old, n, out int oldLength);
        for (ushort seq = 2; seq < SrtpContext.ReplayWindow + 10; seq++)
        {
            var buffer = new byte[200];
            int m = Rtp(buffer, seq, 7, 20);
            a.Outbound.ProtectRtp(buffer, m, out int p);
            Assert.Equal(SrtpError.None, b.Inbound.UnprotectRtp(buffer, p, out _));
        }

        Assert.Equal(SrtpError.ReplayDetected, b.Inbound.UnprotectRtp(old, oldLength, out _));
    }

    [Theory]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    public void Rtcp_round_trips_and_detects_replay_and_tampering(SrtpProfile profile)
    {
        var keys = Keys(profile, 20);
        using var a = new SrtpSession(keys);
        using var b = new SrtpSession(Mirror(keys));
        for (int i = 0; i < 5; i++)
        {
            var buffer = new byte[200];
            int n = RtcpWriter.WriteSenderReport(buffer, new SenderReportInfo(0x1234, (ulong)i, 3, 4, 5, 0), []);
            n += RtcpWriter.WriteSdesCname(buffer.AsSpan(n), 0x1234, "cname"u8);
            var plain = buffer[..n];
            Assert.Equal(SrtpError.None, a.Outbound.ProtectRtcp(buffer, n, out int p));
            Assert.Equal(n + a.Outbound.RtcpOverhead, p);
            var tampered = buffer[..p];
            tampered[10] ^= 1;
            Assert.Equal(SrtpError.AuthenticationFailed, b.Inbound.UnprotectRtcp(tampered, p, out _));
            var replay = buffer[..p];
            Assert.Equal(SrtpError.None, b.Inbound.UnprotectRtcp(buffer, p, out int back));
            Assert.Equal(plain, buffer[..back]);
            Assert.Equal(SrtpError.ReplayDetected, b.Inbound.UnprotectRtcp(replay, p, out _));
        }
    }

    [Theory]
    [InlineData(SrtpProfile.Aes128CmHmacSha1_80)]
    [InlineData(SrtpProfile.AeadAes128Gcm)]
    public void Random_and_mutated_input_never_throws(SrtpProfile profile)
    {
        var keys = Keys(profile, 40);
        using var a = new SrtpSession(keys);
        using var b = new SrtpSession(Mirror(keys));
        var seedBuffer = new byte[300];
        int n = Rtp(seedBuffer, 1, 1, 100);
        a.Outbound.ProtectRtp(seedBuffer, n, out int p);
        var seed = seedBuffer[..p];
        var mutated = from flips in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, p - 1), Gen.Choose(0, 255)))
                      select Flip(seed, flips);
        Prop.ForAll(Gen.OneOf(mutated, ArbMap.Default.GeneratorFor<byte[]>()).ToArbitrary(), bytes =>
        {
            var copy = (byte[])bytes.Clone();
            _ = b.Inbound.UnprotectRtp(copy, copy.Length, out _);
            copy = (byte[])bytes.Clone();
            _ = b.Inbound.UnprotectRtcp(copy, copy.Length, out _);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
    }

    private static byte[] Flip(byte[] seed, (int Index, int Value)[] flips)
    {
        var copy = (byte[])seed.Clone();
        foreach (var (i, v) in flips)
        {
            copy[i] = (byte)v;
        }

        return copy;
    }

    [Fact]
    public void Keying_material_never_prints_keys()
    {
        var keys = Keys(SrtpProfile.AeadAes128Gcm, 1);
        Assert.DoesNotContain(Convert.ToHexString(keys.LocalMasterKey), keys.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("System.Byte", keys.ToString(), StringComparison.Ordinal);
    }
}
