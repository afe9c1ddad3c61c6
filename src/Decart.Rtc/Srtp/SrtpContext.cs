using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Decart.Rtc.Srtp;

/// <summary>Why an SRTP or SRTCP packet was not protected or unprotected.</summary>
public enum SrtpError
{
    /// <summary>Done.</summary>
    None,

    /// <summary>Too short for its header, trailer and tag.</summary>
    TooShort,

    /// <summary>Not a valid RTP/RTCP header.</summary>
    Malformed,

    /// <summary>The authentication tag does not match: tampered, wrong key, or not ours.</summary>
    AuthenticationFailed,

    /// <summary>The packet index was seen before, or is older than the replay window.</summary>
    ReplayDetected,

    /// <summary>The buffer has no room for the tag.</summary>
    BufferTooSmall,
}

/// <summary>
/// SRTP/SRTCP for one direction and one master key (RFC 3711; AEAD AES-128-GCM per RFC 7714): key derivation,
/// AES-CM + HMAC-SHA1-80 or AES-GCM, rollover counters, and a 64-packet replay window per SSRC. Protects and
/// unprotects in place and allocates nothing per packet once an SSRC is known. Not thread-safe: one context per
/// direction, used by one sender or one receive loop.
/// </summary>
public sealed class SrtpContext : IDisposable
{
    /// <summary>Length of the HMAC-SHA1-80 tag.</summary>
    public const int HmacTagLength = 10;

    /// <summary>Length of the AES-GCM tag.</summary>
    public const int GcmTagLength = 16;

    /// <summary>Length of the SRTCP E-flag + index trailer.</summary>
    public const int SrtcpIndexLength = 4;

    /// <summary>
    /// Packets of replay history per SSRC. RFC 3711 asks for at least 64; like browsers, we keep 1,024 so that plain
    /// NACK retransmissions of packets sent a burst ago are not mistaken for replays.
    /// </summary>
    public const int ReplayWindow = 1024;
    private const int MaxStreams = 64;

    private readonly SrtpProfile _profile;
    private readonly Aes? _rtpCipher;
    private readonly Aes? _rtcpCipher;
    private readonly ICryptoTransform? _rtpEcb;
    private readonly ICryptoTransform? _rtcpEcb;
    private readonly byte[] _rtpAuthKey = [];
    private readonly byte[] _rtcpAuthKey = [];

    // Keyed HMAC-SHA1 states kept for the context's life: GetHashAndReset re-arms the inner and outer pads instead of
    // re-deriving them from the key on every packet, as a one-shot HMACSHA1.HashData does. A context is used by one
    // thread at a time (the peer connection's send lock or its receive loop), like its replay windows.
    private readonly IncrementalHash? _rtpHmac;
    private readonly IncrementalHash? _rtcpHmac;
    private readonly GcmCipher? _rtpGcm;
    private readonly GcmCipher? _rtcpGcm;
    private readonly byte[] _rtpSalt;
    private readonly byte[] _rtcpSalt;
    private readonly Dictionary<uint, StreamState> _rtpStreams = [];
    private readonly Dictionary<uint, StreamState> _rtcpStreams = [];
    private readonly byte[] _counterBlocks = new byte[2048 + 16];
    private readonly byte[] _keystream = new byte[2048 + 16];

    private SrtpContext(SrtpProfile profile, ReadOnlySpan<byte> rtpKey, ReadOnlySpan<byte> rtpSalt, ReadOnlySpan<byte> rtpAuthKey, ReadOnlySpan<byte> rtcpKey, ReadOnlySpan<byte> rtcpSalt, ReadOnlySpan<byte> rtcpAuthKey)
    {
        _profile = profile;
        _rtpSalt = rtpSalt.ToArray();
        _rtcpSalt = rtcpSalt.ToArray();
        if (profile == SrtpProfile.AeadAes128Gcm)
        {
            _rtpGcm = new GcmCipher(rtpKey);
            _rtcpGcm = new GcmCipher(rtcpKey);
        }
        else
        {
            _rtpCipher = Aes.Create();
            _rtpCipher.Mode = CipherMode.ECB;
            _rtpCipher.Padding = PaddingMode.None;
            _rtpCipher.Key = rtpKey.ToArray();
            _rtcpCipher = Aes.Create();
            _rtcpCipher.Mode = CipherMode.ECB;
            _rtcpCipher.Padding = PaddingMode.None;
            _rtcpCipher.Key = rtcpKey.ToArray();
            // A long-lived ECB transform keeps one native cipher context: no per-packet setup or allocation.
            _rtpEcb = _rtpCipher.CreateEncryptor(_rtpCipher.Key, null);
            _rtcpEcb = _rtcpCipher.CreateEncryptor(_rtcpCipher.Key, null);
            _rtpAuthKey = rtpAuthKey.ToArray();
            _rtcpAuthKey = rtcpAuthKey.ToArray();
            _rtpHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, _rtpAuthKey);
            _rtcpHmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA1, _rtcpAuthKey);
        }
    }

    /// <summary>The profile.</summary>
    public SrtpProfile Profile => _profile;

    /// <summary>Bytes <see cref="ProtectRtp"/> adds to a packet.</summary>
    public int RtpOverhead => _profile == SrtpProfile.AeadAes128Gcm ? GcmTagLength : HmacTagLength;

    /// <summary>Bytes <see cref="ProtectRtcp"/> adds to a packet.</summary>
    public int RtcpOverhead => RtpOverhead + SrtcpIndexLength;

    /// <summary>Creates a context from a master key and salt, deriving the session keys (RFC 3711 §4.3, key derivation rate 0).</summary>
    /// <param name="profile">The protection profile.</param>
    /// <param name="masterKey">16 bytes.</param>
    /// <param name="masterSalt">14 bytes (AES-CM) or 12 bytes (AES-GCM).</param>
    /// <returns>The context.</returns>
    public static SrtpContext Create(SrtpProfile profile, ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt)
    {
        if (masterKey.Length != profile.KeyLength() || masterSalt.Length != profile.SaltLength())
        {
            throw new ArgumentException($"{profile} needs a {profile.KeyLength()}-byte key and a {profile.SaltLength()}-byte salt.");
        }

        int saltLength = profile.SaltLength();
        Span<byte> rtpKey = stackalloc byte[16], rtcpKey = stackalloc byte[16];
        Span<byte> rtpSalt = stackalloc byte[saltLength], rtcpSalt = stackalloc byte[saltLength];
        Span<byte> rtpAuth = stackalloc byte[20], rtcpAuth = stackalloc byte[20];
        DeriveKey(masterKey, masterSalt, 0, rtpKey);
        DeriveKey(masterKey, masterSalt, 1, rtpAuth);
        DeriveKey(masterKey, masterSalt, 2, rtpSalt);
        DeriveKey(masterKey, masterSalt, 3, rtcpKey);
        DeriveKey(masterKey, masterSalt, 4, rtcpAuth);
        DeriveKey(masterKey, masterSalt, 5, rtcpSalt);
        return new SrtpContext(profile, rtpKey, rtpSalt, rtpAuth, rtcpKey, rtcpSalt, rtcpAuth);
    }

    /// <summary>Creates a context straight from session keys (no derivation), as test vectors give them.</summary>
    internal static SrtpContext FromSessionKeys(SrtpProfile profile, ReadOnlySpan<byte> key, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> authKey) =>
        new(profile, key, salt, authKey, key, salt, authKey);

    /// <summary>The AES-CM PRF of RFC 3711 §4.3.3 with kdr = 0: AES_masterKey((masterSalt XOR label·2^48)·2^16 + i).</summary>
    /// <param name="masterKey">Master key.</param>
    /// <param name="masterSalt">Master salt (14 or 12 bytes, left-aligned).</param>
    /// <param name="label">0–5.</param>
    /// <param name="output">Derived bytes.</param>
    public static void DeriveKey(ReadOnlySpan<byte> masterKey, ReadOnlySpan<byte> masterSalt, byte label, Span<byte> output)
    {
        Span<byte> x = stackalloc byte[16];
        x.Clear();
        masterSalt.CopyTo(x);
        x[7] ^= label;
        using var aes = Aes.Create();
        aes.Key = masterKey.ToArray();
        Span<byte> blocks = stackalloc byte[(output.Length + 15) & ~15];
        for (int i = 0; i < blocks.Length; i += 16)
        {
            x.CopyTo(blocks[i..]);
            BinaryPrimitives.WriteUInt16BigEndian(blocks[(i + 14)..], (ushort)(i / 16));
        }

        aes.EncryptEcb(blocks, blocks, PaddingMode.None);
        blocks[..output.Length].CopyTo(output);
        CryptographicOperations.ZeroMemory(blocks);
    }

    /// <summary>Encrypts and authenticates an RTP packet in place.</summary>
    /// <param name="buffer">Holds the packet and has <see cref="RtpOverhead"/> spare bytes after it.</param>
    /// <param name="length">Packet length.</param>
    /// <param name="protectedLength">Length after protection.</param>
    /// <returns>The outcome.</returns>
    public SrtpError ProtectRtp(Span<byte> buffer, int length, out int protectedLength)
    {
        protectedLength = 0;
        if (!TryHeaderLength(buffer[..length], out int headerLength, out uint ssrc, out ushort seq))
        {
            return SrtpError.Malformed;
        }

        if (buffer.Length < length + RtpOverhead)
        {
            return SrtpError.BufferTooSmall;
        }

        var state = Stream(_rtpStreams, ssrc);
        ulong index = state.EstimateIndex(seq);
        state.Accept(index);
        uint roc = (uint)(index >> 16);
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            RtpGcmNonce(nonce, _rtpSalt, ssrc, roc, seq);
            _rtpGcm!.Encrypt(nonce, buffer[headerLength..length], buffer.Slice(length, GcmTagLength), buffer[..headerLength]);
            protectedLength = length + GcmTagLength;
            return SrtpError.None;
        }

        Span<byte> iv = stackalloc byte[16];
        CmIv(iv, _rtpSalt, ssrc, index);
        XorKeystream(_rtpEcb!, iv, buffer[headerLength..length]);
        RtpTag(buffer, length, roc, buffer.Slice(length, HmacTagLength));
        protectedLength = length + HmacTagLength;
        return SrtpError.None;
    }

    /// <summary>Authenticates and decrypts an SRTP packet in place.</summary>
    /// <param name="buffer">The received packet.</param>
    /// <param name="length">Its length.</param>
    /// <param name="plainLength">The RTP packet's length after unprotection.</param>
    /// <returns>The outcome; on failure the buffer's contents are unspecified and the stream state unchanged.</returns>
    public SrtpError UnprotectRtp(Span<byte> buffer, int length, out int plainLength)
    {
        plainLength = 0;
        if (length < 12 + RtpOverhead)
        {
            return SrtpError.TooShort;
        }

        int bodyEnd = length - RtpOverhead;
        if (!TryHeaderLength(buffer[..bodyEnd], out int headerLength, out uint ssrc, out ushort seq))
        {
            return SrtpError.Malformed;
        }

        var state = Stream(_rtpStreams, ssrc);
        ulong index = state.EstimateIndex(seq);
        if (state.IsReplay(index))
        {
            return SrtpError.ReplayDetected;
        }

        uint roc = (uint)(index >> 16);
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            RtpGcmNonce(nonce, _rtpSalt, ssrc, roc, seq);
            if (!_rtpGcm!.Decrypt(nonce, buffer[headerLength..bodyEnd], buffer.Slice(bodyEnd, GcmTagLength), buffer[..headerLength]))
            {
                return SrtpError.AuthenticationFailed;
            }
        }
        else
        {
            Span<byte> received = stackalloc byte[HmacTagLength];
            buffer.Slice(bodyEnd, HmacTagLength).CopyTo(received);
            Span<byte> tag = stackalloc byte[HmacTagLength];
            RtpTag(buffer, bodyEnd, roc, tag);
            if (!CryptographicOperations.FixedTimeEquals(tag, received))
            {
                return SrtpError.AuthenticationFailed;
            }

            Span<byte> iv = stackalloc byte[16];
            CmIv(iv, _rtpSalt, ssrc, index);
            XorKeystream(_rtpEcb!, iv, buffer[headerLength..bodyEnd]);
        }

        state.Accept(index);
        plainLength = bodyEnd;
        return SrtpError.None;
    }

    /// <summary>Encrypts and authenticates an RTCP (compound) packet in place, appending the E-flag/index and tag.</summary>
    /// <param name="buffer">Holds the packet with <see cref="RtcpOverhead"/> spare bytes after it.</param>
    /// <param name="length">Packet length.</param>
    /// <param name="protectedLength">Length after protection.</param>
    /// <returns>The outcome.</returns>
    public SrtpError ProtectRtcp(Span<byte> buffer, int length, out int protectedLength)
    {
        protectedLength = 0;
        if (length < 8)
        {
            return SrtpError.TooShort;
        }

        if (buffer.Length < length + RtcpOverhead)
        {
            return SrtpError.BufferTooSmall;
        }

        uint ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]);
        var state = Stream(_rtcpStreams, ssrc);
        uint index = (uint)(state.NextSendIndex++ & 0x7FFFFFFF);
        uint eIndex = 0x80000000 | index;
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            Span<byte> aad = stackalloc byte[12];
            RtcpGcmNonceAndAad(nonce, aad, buffer, ssrc, eIndex);
            _rtcpGcm!.Encrypt(nonce, buffer[8..length], buffer.Slice(length, GcmTagLength), aad);
            BinaryPrimitives.WriteUInt32BigEndian(buffer[(length + GcmTagLength)..], eIndex);
            protectedLength = length + GcmTagLength + SrtcpIndexLength;
            return SrtpError.None;
        }

        Span<byte> iv = stackalloc byte[16];
        CmIv(iv, _rtcpSalt, ssrc, index);
        XorKeystream(_rtcpEcb!, iv, buffer[8..length]);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], eIndex);
        Span<byte> mac = stackalloc byte[20];
        Mac(_rtcpHmac!, buffer[..(length + SrtcpIndexLength)], mac);
        mac[..HmacTagLength].CopyTo(buffer[(length + SrtcpIndexLength)..]);
        protectedLength = length + SrtcpIndexLength + HmacTagLength;
        return SrtpError.None;
    }

    /// <summary>Authenticates and decrypts an SRTCP packet in place.</summary>
    /// <param name="buffer">The received packet.</param>
    /// <param name="length">Its length.</param>
    /// <param name="plainLength">The RTCP packet's length after unprotection.</param>
    /// <returns>The outcome.</returns>
    public SrtpError UnprotectRtcp(Span<byte> buffer, int length, out int plainLength)
    {
        plainLength = 0;
        if (length < 8 + RtcpOverhead)
        {
            return SrtpError.TooShort;
        }

        uint ssrc = BinaryPrimitives.ReadUInt32BigEndian(buffer[4..]);
        uint eIndex;
        int bodyEnd;
        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            eIndex = BinaryPrimitives.ReadUInt32BigEndian(buffer[(length - SrtcpIndexLength)..]);
            bodyEnd = length - SrtcpIndexLength - GcmTagLength;
        }
        else
        {
            eIndex = BinaryPrimitives.ReadUInt32BigEndian(buffer[(length - HmacTagLength - SrtcpIndexLength)..]);
            bodyEnd = length - HmacTagLength - SrtcpIndexLength;
        }

        uint index = eIndex & 0x7FFFFFFF;
        bool encrypted = (eIndex & 0x80000000) != 0;
        var state = Stream(_rtcpStreams, ssrc);
        if (state.IsReplay(index))
        {
            return SrtpError.ReplayDetected;
        }

        if (_profile == SrtpProfile.AeadAes128Gcm)
        {
            Span<byte> nonce = stackalloc byte[12];
            Span<byte> aad = stackalloc byte[12];
            RtcpGcmNonceAndAad(nonce, aad, buffer, ssrc, eIndex);
            if (!encrypted)
            {
                return SrtpError.Malformed; // unencrypted SRTCP is not negotiated by WebRTC
            }

            if (!_rtcpGcm!.Decrypt(nonce, buffer[8..bodyEnd], buffer.Slice(bodyEnd, GcmTagLength), aad))
            {
                return SrtpError.AuthenticationFailed;
            }
        }
        else
        {
            Span<byte> mac = stackalloc byte[20];
            Mac(_rtcpHmac!, buffer[..(bodyEnd + SrtcpIndexLength)], mac);
            if (!CryptographicOperations.FixedTimeEquals(mac[..HmacTagLength], buffer.Slice(bodyEnd + SrtcpIndexLength, HmacTagLength)))
            {
                return SrtpError.AuthenticationFailed;
            }

            if (encrypted)
            {
                Span<byte> iv = stackalloc byte[16];
                CmIv(iv, _rtcpSalt, ssrc, index);
                XorKeystream(_rtcpEcb!, iv, buffer[8..bodyEnd]);
            }
        }

        state.Accept(index);
        plainLength = bodyEnd;
        return SrtpError.None;
    }

    /// <summary>Releases the ciphers.</summary>
    public void Dispose()
    {
        _rtpCipher?.Dispose();
        _rtcpCipher?.Dispose();
        _rtpGcm?.Dispose();
        _rtcpGcm?.Dispose();
        _rtpEcb?.Dispose();
        _rtcpEcb?.Dispose();
        _rtpHmac?.Dispose();
        _rtcpHmac?.Dispose();
        CryptographicOperations.ZeroMemory(_rtpAuthKey);
        CryptographicOperations.ZeroMemory(_rtcpAuthKey);
        CryptographicOperations.ZeroMemory(_rtpSalt);
        CryptographicOperations.ZeroMemory(_rtcpSalt);
    }

    /// <summary>The AES-CM IV (RFC 3711 §4.1.1): salt·2^16 XOR SSRC·2^64 XOR index·2^16.</summary>
    internal static void CmIv(Span<byte> iv, ReadOnlySpan<byte> salt, uint ssrc, ulong index)
    {
        iv.Clear();
        salt.CopyTo(iv);
        Span<byte> tmp = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(tmp, ssrc);
        for (int i = 0; i < 4; i++)
        {
            iv[4 + i] ^= tmp[i];
        }

        BinaryPrimitives.WriteUInt64BigEndian(tmp, index << 16);
        for (int i = 0; i < 8; i++)
        {
            iv[8 + i] ^= tmp[i];
        }
    }

    /// <summary>The AES-GCM SRTP IV (RFC 7714 §8.1): (0x0000 || SSRC || ROC || SEQ) XOR salt.</summary>
    internal static void RtpGcmNonce(Span<byte> nonce, ReadOnlySpan<byte> salt, uint ssrc, uint roc, ushort seq)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(nonce[2..], ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[6..], roc);
        BinaryPrimitives.WriteUInt16BigEndian(nonce[10..], seq);
        for (int i = 0; i < 12; i++)
        {
            nonce[i] ^= salt[i];
        }
    }

    /// <summary>The AES-GCM SRTCP IV (RFC 7714 §9.1): (0x0000 || SSRC || 0x0000 || 0 || index) XOR salt.</summary>
    internal static void RtcpGcmNonce(Span<byte> nonce, ReadOnlySpan<byte> salt, uint ssrc, uint index)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(nonce[2..], ssrc);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[8..], index & 0x7FFFFFFF);
        for (int i = 0; i < 12; i++)
        {
            nonce[i] ^= salt[i];
        }
    }

    /// <summary>The SRTCP AEAD nonce and AAD (RFC 7714 §9.1, §17): the 8-byte header plus the E-flag/index word.</summary>
    private void RtcpGcmNonceAndAad(Span<byte> nonce, Span<byte> aad, ReadOnlySpan<byte> packet, uint ssrc, uint eIndex)
    {
        RtcpGcmNonce(nonce, _rtcpSalt, ssrc, eIndex);
        packet[..8].CopyTo(aad);
        BinaryPrimitives.WriteUInt32BigEndian(aad[8..], eIndex);
    }

    /// <summary>XORs <paramref name="data"/> with the AES-CM keystream starting at counter <paramref name="iv"/>.</summary>
    internal void XorKeystream(ICryptoTransform ecb, ReadOnlySpan<byte> iv, Span<byte> data)
    {
        int offset = 0;
        while (offset < data.Length)
        {
            int chunk = Math.Min(data.Length - offset, 2048);
            int blocks = (chunk + 15) / 16;
            var counters = _counterBlocks.AsSpan(0, blocks * 16);
            ushort start = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(iv[14..]) + (offset / 16));
            for (int b = 0; b < blocks; b++)
            {
                iv[..14].CopyTo(counters[(b * 16)..]);
                BinaryPrimitives.WriteUInt16BigEndian(counters[((b * 16) + 14)..], (ushort)(start + b));
            }

            var stream = _keystream.AsSpan(0, blocks * 16);
            ecb.TransformBlock(_counterBlocks, 0, blocks * 16, _keystream, 0);
            var target = data.Slice(offset, chunk);
            Xor(target, stream[..chunk]);
            offset += chunk;
        }
    }

    private static void Xor(Span<byte> target, ReadOnlySpan<byte> keystream)
    {
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            int width = System.Numerics.Vector<byte>.Count;
            for (; i <= target.Length - width; i += width)
            {
                (new System.Numerics.Vector<byte>(target[i..]) ^ new System.Numerics.Vector<byte>(keystream[i..])).CopyTo(target[i..]);
            }
        }

        for (; i < target.Length; i++)
        {
            target[i] ^= keystream[i];
        }
    }

    private static void Mac(IncrementalHash hmac, ReadOnlySpan<byte> data, Span<byte> mac)
    {
        hmac.AppendData(data);
        hmac.GetHashAndReset(mac);
    }

    /// <summary>HMAC-SHA1-80 over <c>packet || ROC</c>; the ROC is written into the (spare) bytes after the packet.</summary>
    private void RtpTag(Span<byte> buffer, int length, uint roc, Span<byte> tag)
    {
        BinaryPrimitives.WriteUInt32BigEndian(buffer[length..], roc);
        Span<byte> mac = stackalloc byte[20];
        Mac(_rtpHmac!, buffer[..(length + 4)], mac);
        mac[..HmacTagLength].CopyTo(tag);
    }

    /// <summary>
    /// The header's extent (fixed part, CSRCs, extension block), its SSRC and sequence number. The padding bit is not
    /// looked at: SRTP encrypts the padding, so before decryption the count byte is ciphertext (RFC 3711 §3.1) — reading
    /// it there would refuse a valid padded packet whenever that byte happens to be 0.
    /// </summary>
    private static bool TryHeaderLength(ReadOnlySpan<byte> packet, out int headerLength, out uint ssrc, out ushort seq)
    {
        headerLength = 0;
        ssrc = 0;
        seq = 0;
        if (packet.Length < 12 || packet[0] >> 6 != 2)
        {
            return false;
        }

        int offset = 12 + ((packet[0] & 0x0F) * 4);
        if ((packet[0] & 0x10) != 0)
        {
            if (offset + 4 > packet.Length)
            {
                return false;
            }

            offset += 4 + (BinaryPrimitives.ReadUInt16BigEndian(packet[(offset + 2)..]) * 4);
        }

        if (offset > packet.Length)
        {
            return false;
        }

        headerLength = offset;
        ssrc = BinaryPrimitives.ReadUInt32BigEndian(packet[8..]);
        seq = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        return true;
    }

    private static StreamState Stream(Dictionary<uint, StreamState> streams, uint ssrc)
    {
        if (!streams.TryGetValue(ssrc, out var state))
        {
            if (streams.Count >= MaxStreams)
            {
                // Bounded memory: a flood of new SSRCs evicts an arbitrary old one.
                using var e = streams.Keys.GetEnumerator();
                e.MoveNext();
                streams.Remove(e.Current);
            }

            state = new StreamState();
            streams[ssrc] = state;
        }

        return state;
    }

    /// <summary>Per-SSRC rollover counter, highest index and replay window (a 1,024-bit ring indexed by packet index).</summary>
    private sealed class StreamState
    {
        private readonly ulong[] _seen = new ulong[ReplayWindow / 64];
        private bool _started;
        private ulong _highest;

        public long NextSendIndex { get; set; }

        /// <summary>The packet index of <paramref name="seq"/> (RFC 3711 §3.3.1).</summary>
        public ulong EstimateIndex(ushort seq)
        {
            if (!_started)
            {
                return seq;
            }

            uint roc = (uint)(_highest >> 16);
            ushort sl = (ushort)_highest;
            long v = roc;
            if (sl < 32768)
            {
                if (seq - sl > 32768)
                {
                    v = roc - 1L;
                }
            }
            else if (sl - 32768 > seq)
            {
                v = roc + 1L;
            }

            return v < 0 ? seq : ((ulong)v << 16) | seq;
        }

        public bool IsReplay(ulong index)
        {
            if (!_started || index > _highest)
            {
                return false;
            }

            return _highest - index >= ReplayWindow || Get(index);
        }

        public void Accept(ulong index)
        {
            if (!_started)
            {
                _started = true;
                _highest = index;
                Array.Clear(_seen);
                Set(index);
                return;
            }

            if (index > _highest)
            {
                // Forget the indices that slide out of the window.
                ulong shift = index - _highest;
                if (shift >= ReplayWindow)
                {
                    Array.Clear(_seen);
                }
                else
                {
                    for (ulong i = _highest + 1; i <= index; i++)
                    {
                        Clear(i);
                    }
                }

                _highest = index;
            }

            if (_highest - index < ReplayWindow)
            {
                Set(index);
            }
        }

        private bool Get(ulong index) => (_seen[(index / 64) % (ReplayWindow / 64)] & (1UL << (int)(index % 64))) != 0;

        private void Set(ulong index) => _seen[(index / 64) % (ReplayWindow / 64)] |= 1UL << (int)(index % 64);

        private void Clear(ulong index) => _seen[(index / 64) % (ReplayWindow / 64)] &= ~(1UL << (int)(index % 64));
    }
}
