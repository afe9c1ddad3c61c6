using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AesGcm = System.Security.Cryptography.AesGcm;
using AuthenticationTagMismatchException = System.Security.Cryptography.AuthenticationTagMismatchException;
using CryptographicOperations = System.Security.Cryptography.CryptographicOperations;

namespace Decart.Rtc.Srtp;

/// <summary>
/// AES-128-GCM (NIST SP 800-38D) with a 96-bit nonce and a 128-bit tag — what SRTP's AEAD profile (RFC 7714) uses —
/// on the CPU's AES round and carry-less multiply instructions, in place, in one pass, with nothing allocated and no
/// call out of managed code. Counter blocks are encrypted side by side (the AES rounds of independent blocks overlap in
/// the pipeline) — eight at a time over data of 256 bytes or more, four otherwise — and GHASH folds as many blocks per
/// reduction with the precomputed powers H … H⁸. (Wider GHASH, two or four blocks per 256- or 512-bit carry-less
/// multiply, measured slower than this on an AMD EPYC: assembling the vectors cost more than the products saved; .NET
/// exposes no 256-bit AES instructions.)
/// <para>
/// GHASH runs in the byte-reflected domain of Gueron and Kounavis ("Intel Carry-Less Multiplication Instruction and
/// its Usage for Computing the GCM Mode", 2014): every block is byte-reversed on load, multiplied as a 128-bit
/// polynomial with four 64-bit carry-less products, shifted left one bit (the reflected product comes out one bit
/// short) and reduced modulo x¹²⁸ + x⁷ + x² + x + 1 with shifts. <see cref="IsSupported"/> says whether the CPU has what
/// it needs; <see cref="GcmCipher"/> falls back to .NET's <see cref="AesGcm"/> otherwise.
/// </para>
/// </summary>
internal sealed class Aes128GcmIntrinsics : IDisposable
{
    /// <summary>The tag's length, bytes.</summary>
    public const int TagSize = 16;

    /// <summary>The nonce's length, bytes.</summary>
    public const int NonceSize = 12;

    private Vector128<byte> _k0, _k1, _k2, _k3, _k4, _k5, _k6, _k7, _k8, _k9, _k10;
    private Vector128<byte> _h1, _h2, _h3, _h4, _h5, _h6, _h7, _h8;
    private bool _disposed;

    /// <summary>Creates the cipher for a 16-byte key.</summary>
    /// <param name="key">The AES-128 key.</param>
    public Aes128GcmIntrinsics(ReadOnlySpan<byte> key)
    {
        if (!IsSupported)
        {
            throw new PlatformNotSupportedException("AES-NI, PCLMULQDQ, SSSE3 and SSE4.1 are needed");
        }

        if (key.Length != 16)
        {
            throw new ArgumentException("AES-128 takes a 16-byte key", nameof(key));
        }

        var k = Vector128.Create(key);
        _k0 = k;
        _k1 = k = Expand(k, Aes.KeygenAssist(k, 0x01));
        _k2 = k = Expand(k, Aes.KeygenAssist(k, 0x02));
        _k3 = k = Expand(k, Aes.KeygenAssist(k, 0x04));
        _k4 = k = Expand(k, Aes.KeygenAssist(k, 0x08));
        _k5 = k = Expand(k, Aes.KeygenAssist(k, 0x10));
        _k6 = k = Expand(k, Aes.KeygenAssist(k, 0x20));
        _k7 = k = Expand(k, Aes.KeygenAssist(k, 0x40));
        _k8 = k = Expand(k, Aes.KeygenAssist(k, 0x80));
        _k9 = k = Expand(k, Aes.KeygenAssist(k, 0x1B));
        _k10 = Expand(k, Aes.KeygenAssist(k, 0x36));

        _h1 = Reflect(EncryptBlock(Vector128<byte>.Zero));
        _h2 = Multiply(_h1, _h1);
        _h3 = Multiply(_h2, _h1);
        _h4 = Multiply(_h3, _h1);
        _h5 = Multiply(_h4, _h1);
        _h6 = Multiply(_h5, _h1);
        _h7 = Multiply(_h6, _h1);
        _h8 = Multiply(_h7, _h1);
    }

    /// <summary>Whether this CPU runs it (x86-64 with AES-NI, PCLMULQDQ, SSSE3 and SSE4.1).</summary>
    public static bool IsSupported => Aes.IsSupported && Pclmulqdq.IsSupported && Ssse3.IsSupported && Sse41.IsSupported;

    private static Vector128<byte> ReverseBytes => Vector128.Create((byte)15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);

    /// <summary>Encrypts <paramref name="data"/> in place and writes the tag over it and <paramref name="aad"/>.</summary>
    /// <param name="nonce">12 bytes.</param>
    /// <param name="data">Plaintext in, ciphertext out.</param>
    /// <param name="tag">16 bytes out.</param>
    /// <param name="aad">Authenticated, not encrypted.</param>
    public void Encrypt(ReadOnlySpan<byte> nonce, Span<byte> data, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        var full = Crypt(nonce, data, aad, encrypt: true);
        full.CopyTo(tag[..TagSize]);
    }

    /// <summary>Checks the tag and decrypts <paramref name="data"/> in place; on a mismatch the data is zeroed.</summary>
    /// <param name="nonce">12 bytes.</param>
    /// <param name="data">Ciphertext in, plaintext out.</param>
    /// <param name="tag">The 16-byte tag received.</param>
    /// <param name="aad">Authenticated, not encrypted.</param>
    /// <returns>Whether the tag matched.</returns>
    public bool Decrypt(ReadOnlySpan<byte> nonce, Span<byte> data, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> aad)
    {
        var expected = Crypt(nonce, data, aad, encrypt: false);
        Span<byte> computed = stackalloc byte[TagSize];
        expected.CopyTo(computed);
        if (CryptographicOperations.FixedTimeEquals(computed, tag[..TagSize]))
        {
            return true;
        }

        data.Clear(); // unauthenticated plaintext is not handed out
        return false;
    }

    /// <summary>Forgets the key schedule and the hash key.</summary>
    public void Dispose()
    {
        _disposed = true;
        _k0 = _k1 = _k2 = _k3 = _k4 = _k5 = _k6 = _k7 = _k8 = _k9 = _k10 = default;
        _h1 = _h2 = _h3 = _h4 = _h5 = _h6 = _h7 = _h8 = default;
    }

    /// <summary>CTR over <paramref name="data"/> and GHASH over the AAD and the ciphertext; returns the tag.</summary>
    private Vector128<byte> Crypt(ReadOnlySpan<byte> nonce, Span<byte> data, ReadOnlySpan<byte> aad, bool encrypt)
    {
        ObjectDisposedException.ThrowIf(_disposed, this); // a zeroed key schedule must never encrypt
        if (nonce.Length != NonceSize)
        {
            throw new ArgumentException("GCM here takes a 12-byte nonce", nameof(nonce));
        }

        // J0 = nonce || 0x00000001; the data's counter blocks start at J0 + 1 (the 32-bit counter is big-endian).
        Span<byte> block = stackalloc byte[16];
        nonce.CopyTo(block);
        BinaryPrimitives.WriteUInt32BigEndian(block[12..], 1);
        var j0 = Vector128.Create((ReadOnlySpan<byte>)block);
        var iv = j0.AsUInt32();
        uint counter = 2;

        var y = Vector128<byte>.Zero;
        y = HashBytes(y, aad);

        ref byte d = ref MemoryMarshal.GetReference(data);
        int length = data.Length;
        int i = 0;
        var h1 = _h1;
        var h2 = _h2;
        var h3 = _h3;
        var h4 = _h4;
        if (length >= 256)
        {
            y = CryptEights(ref d, length, ref i, iv, ref counter, y, encrypt);
        }

        for (; length - i >= 64; i += 64, counter += 4)
        {
            var c0 = Counter(iv, counter);
            var c1 = Counter(iv, counter + 1);
            var c2 = Counter(iv, counter + 2);
            var c3 = Counter(iv, counter + 3);
            EncryptFour(ref c0, ref c1, ref c2, ref c3);
            var x0 = Vector128.LoadUnsafe(ref d, (nuint)i);
            var x1 = Vector128.LoadUnsafe(ref d, (nuint)(i + 16));
            var x2 = Vector128.LoadUnsafe(ref d, (nuint)(i + 32));
            var x3 = Vector128.LoadUnsafe(ref d, (nuint)(i + 48));
            var o0 = x0 ^ c0;
            var o1 = x1 ^ c1;
            var o2 = x2 ^ c2;
            var o3 = x3 ^ c3;
            o0.StoreUnsafe(ref d, (nuint)i);
            o1.StoreUnsafe(ref d, (nuint)(i + 16));
            o2.StoreUnsafe(ref d, (nuint)(i + 32));
            o3.StoreUnsafe(ref d, (nuint)(i + 48));
            if (encrypt)
            {
                (x0, x1, x2, x3) = (o0, o1, o2, o3); // GHASH reads the ciphertext
            }

            // ((Y ^ C0)·H⁴) ^ (C1·H³) ^ (C2·H²) ^ (C3·H), one reduction.
            var lo = Vector128<ulong>.Zero;
            var mid = Vector128<ulong>.Zero;
            var hi = Vector128<ulong>.Zero;
            MultiplyAdd(y ^ Reflect(x0), h4, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x1), h3, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x2), h2, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x3), h1, ref lo, ref mid, ref hi);
            y = Reduce(lo, mid, hi);
        }

        for (; length - i >= 16; i += 16, counter++)
        {
            var x = Vector128.LoadUnsafe(ref d, (nuint)i);
            var o = x ^ EncryptBlock(Counter(iv, counter));
            o.StoreUnsafe(ref d, (nuint)i);
            y = Multiply(y ^ Reflect(encrypt ? o : x), h1);
        }

        if (i < length)
        {
            // The last partial block: its keystream XORed byte by byte; GHASH takes the ciphertext zero-padded.
            int rest = length - i;
            block.Clear();
            data[i..].CopyTo(block);
            var x = Vector128.Create((ReadOnlySpan<byte>)block);
            var o = x ^ EncryptBlock(Counter(iv, counter));
            o.CopyTo(block);
            block[..rest].CopyTo(data[i..]);
            block[rest..].Clear();
            var c = encrypt ? Vector128.Create((ReadOnlySpan<byte>)block) : x;
            y = Multiply(y ^ Reflect(c), h1);
        }

        // The lengths block: bits of AAD, then bits of ciphertext, each 64-bit big-endian.
        BinaryPrimitives.WriteUInt64BigEndian(block, (ulong)aad.Length * 8);
        BinaryPrimitives.WriteUInt64BigEndian(block[8..], (ulong)length * 8);
        y = Multiply(y ^ Reflect(Vector128.Create((ReadOnlySpan<byte>)block)), h1);
        return Reflect(y) ^ EncryptBlock(j0);
    }

    /// <summary>
    /// The data's 128-byte runs, eight counter blocks at a time (enough AES rounds in flight for two AES units) and
    /// GHASH over eight blocks per reduction with H … H⁸. Its own method, so the short packets' path stays as small.
    /// </summary>
    private Vector128<byte> CryptEights(ref byte d, int length, ref int i, Vector128<uint> iv, ref uint counter, Vector128<byte> y, bool encrypt)
    {
        for (; length - i >= 128; i += 128, counter += 8)
        {
            var c0 = Counter(iv, counter);
            var c1 = Counter(iv, counter + 1);
            var c2 = Counter(iv, counter + 2);
            var c3 = Counter(iv, counter + 3);
            var c4 = Counter(iv, counter + 4);
            var c5 = Counter(iv, counter + 5);
            var c6 = Counter(iv, counter + 6);
            var c7 = Counter(iv, counter + 7);
            EncryptEight(ref c0, ref c1, ref c2, ref c3, ref c4, ref c5, ref c6, ref c7);
            var x0 = Vector128.LoadUnsafe(ref d, (nuint)i);
            var x1 = Vector128.LoadUnsafe(ref d, (nuint)(i + 16));
            var x2 = Vector128.LoadUnsafe(ref d, (nuint)(i + 32));
            var x3 = Vector128.LoadUnsafe(ref d, (nuint)(i + 48));
            var x4 = Vector128.LoadUnsafe(ref d, (nuint)(i + 64));
            var x5 = Vector128.LoadUnsafe(ref d, (nuint)(i + 80));
            var x6 = Vector128.LoadUnsafe(ref d, (nuint)(i + 96));
            var x7 = Vector128.LoadUnsafe(ref d, (nuint)(i + 112));
            var o0 = x0 ^ c0;
            var o1 = x1 ^ c1;
            var o2 = x2 ^ c2;
            var o3 = x3 ^ c3;
            var o4 = x4 ^ c4;
            var o5 = x5 ^ c5;
            var o6 = x6 ^ c6;
            var o7 = x7 ^ c7;
            o0.StoreUnsafe(ref d, (nuint)i);
            o1.StoreUnsafe(ref d, (nuint)(i + 16));
            o2.StoreUnsafe(ref d, (nuint)(i + 32));
            o3.StoreUnsafe(ref d, (nuint)(i + 48));
            o4.StoreUnsafe(ref d, (nuint)(i + 64));
            o5.StoreUnsafe(ref d, (nuint)(i + 80));
            o6.StoreUnsafe(ref d, (nuint)(i + 96));
            o7.StoreUnsafe(ref d, (nuint)(i + 112));
            if (encrypt)
            {
                (x0, x1, x2, x3, x4, x5, x6, x7) = (o0, o1, o2, o3, o4, o5, o6, o7); // GHASH reads the ciphertext
            }

            // ((Y ^ C0)·H⁸) ^ (C1·H⁷) ^ … ^ (C7·H), one reduction.
            var lo = Vector128<ulong>.Zero;
            var mid = Vector128<ulong>.Zero;
            var hi = Vector128<ulong>.Zero;
            MultiplyAdd(y ^ Reflect(x0), _h8, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x1), _h7, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x2), _h6, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x3), _h5, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x4), _h4, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x5), _h3, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x6), _h2, ref lo, ref mid, ref hi);
            MultiplyAdd(Reflect(x7), _h1, ref lo, ref mid, ref hi);
            y = Reduce(lo, mid, hi);
        }

        return y;
    }

    /// <summary>GHASH over bytes that are not encrypted (the AAD): whole blocks, then the rest zero-padded.</summary>
    private Vector128<byte> HashBytes(Vector128<byte> y, ReadOnlySpan<byte> bytes)
    {
        int i = 0;
        ref byte b = ref MemoryMarshal.GetReference(bytes);
        for (; bytes.Length - i >= 16; i += 16)
        {
            y = Multiply(y ^ Reflect(Vector128.LoadUnsafe(ref b, (nuint)i)), _h1);
        }

        if (i < bytes.Length)
        {
            Span<byte> block = stackalloc byte[16];
            block.Clear();
            bytes[i..].CopyTo(block);
            y = Multiply(y ^ Reflect(Vector128.Create((ReadOnlySpan<byte>)block)), _h1);
        }

        return y;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Counter(Vector128<uint> iv, uint counter) =>
        Sse41.Insert(iv, BinaryPrimitives.ReverseEndianness(counter), 3).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Reflect(Vector128<byte> block) => Ssse3.Shuffle(block, ReverseBytes);

    /// <summary>One round key of AES-128's schedule from the previous one and <c>AESKEYGENASSIST</c>'s output.</summary>
    private static Vector128<byte> Expand(Vector128<byte> key, Vector128<byte> assist)
    {
        var word = Sse2.Shuffle(assist.AsUInt32(), 0xFF).AsByte(); // RotWord(SubWord(w3)) ^ rcon, in every lane
        var shifted = Sse2.ShiftLeftLogical128BitLane(key, 4);
        key ^= shifted;
        shifted = Sse2.ShiftLeftLogical128BitLane(shifted, 4);
        key ^= shifted;
        shifted = Sse2.ShiftLeftLogical128BitLane(shifted, 4);
        key ^= shifted;
        return key ^ word;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<byte> EncryptBlock(Vector128<byte> x)
    {
        x ^= _k0;
        x = Aes.Encrypt(x, _k1);
        x = Aes.Encrypt(x, _k2);
        x = Aes.Encrypt(x, _k3);
        x = Aes.Encrypt(x, _k4);
        x = Aes.Encrypt(x, _k5);
        x = Aes.Encrypt(x, _k6);
        x = Aes.Encrypt(x, _k7);
        x = Aes.Encrypt(x, _k8);
        x = Aes.Encrypt(x, _k9);
        return Aes.EncryptLast(x, _k10);
    }

    /// <summary>Four independent blocks, round by round, so each round's four instructions overlap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EncryptFour(ref Vector128<byte> a, ref Vector128<byte> b, ref Vector128<byte> c, ref Vector128<byte> d)
    {
        var k = _k0;
        a ^= k;
        b ^= k;
        c ^= k;
        d ^= k;
        Round(ref a, ref b, ref c, ref d, _k1);
        Round(ref a, ref b, ref c, ref d, _k2);
        Round(ref a, ref b, ref c, ref d, _k3);
        Round(ref a, ref b, ref c, ref d, _k4);
        Round(ref a, ref b, ref c, ref d, _k5);
        Round(ref a, ref b, ref c, ref d, _k6);
        Round(ref a, ref b, ref c, ref d, _k7);
        Round(ref a, ref b, ref c, ref d, _k8);
        Round(ref a, ref b, ref c, ref d, _k9);
        k = _k10;
        a = Aes.EncryptLast(a, k);
        b = Aes.EncryptLast(b, k);
        c = Aes.EncryptLast(c, k);
        d = Aes.EncryptLast(d, k);
    }

    /// <summary>Eight independent blocks, round by round: enough in flight to keep two AES units busy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void EncryptEight(ref Vector128<byte> a, ref Vector128<byte> b, ref Vector128<byte> c, ref Vector128<byte> d, ref Vector128<byte> e, ref Vector128<byte> f, ref Vector128<byte> g, ref Vector128<byte> h)
    {
        var k = _k0;
        a ^= k;
        b ^= k;
        c ^= k;
        d ^= k;
        e ^= k;
        f ^= k;
        g ^= k;
        h ^= k;
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k1);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k2);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k3);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k4);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k5);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k6);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k7);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k8);
        Round(ref a, ref b, ref c, ref d, ref e, ref f, ref g, ref h, _k9);
        k = _k10;
        a = Aes.EncryptLast(a, k);
        b = Aes.EncryptLast(b, k);
        c = Aes.EncryptLast(c, k);
        d = Aes.EncryptLast(d, k);
        e = Aes.EncryptLast(e, k);
        f = Aes.EncryptLast(f, k);
        g = Aes.EncryptLast(g, k);
        h = Aes.EncryptLast(h, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref Vector128<byte> a, ref Vector128<byte> b, ref Vector128<byte> c, ref Vector128<byte> d, ref Vector128<byte> e, ref Vector128<byte> f, ref Vector128<byte> g, ref Vector128<byte> h, Vector128<byte> k)
    {
        a = Aes.Encrypt(a, k);
        b = Aes.Encrypt(b, k);
        c = Aes.Encrypt(c, k);
        d = Aes.Encrypt(d, k);
        e = Aes.Encrypt(e, k);
        f = Aes.Encrypt(f, k);
        g = Aes.Encrypt(g, k);
        h = Aes.Encrypt(h, k);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Round(ref Vector128<byte> a, ref Vector128<byte> b, ref Vector128<byte> c, ref Vector128<byte> d, Vector128<byte> k)
    {
        a = Aes.Encrypt(a, k);
        b = Aes.Encrypt(b, k);
        c = Aes.Encrypt(c, k);
        d = Aes.Encrypt(d, k);
    }

    /// <summary>a·b in GF(2¹²⁸), both byte-reflected.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Multiply(Vector128<byte> a, Vector128<byte> b)
    {
        var lo = Vector128<ulong>.Zero;
        var mid = Vector128<ulong>.Zero;
        var hi = Vector128<ulong>.Zero;
        MultiplyAdd(a, b, ref lo, ref mid, ref hi);
        return Reduce(lo, mid, hi);
    }

    /// <summary>Adds the unreduced 256-bit carry-less product a·b to lo/mid/hi (schoolbook: four 64×64 products).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(Vector128<byte> a, Vector128<byte> b, ref Vector128<ulong> lo, ref Vector128<ulong> mid, ref Vector128<ulong> hi)
    {
        var x = a.AsUInt64();
        var y = b.AsUInt64();
        lo ^= Pclmulqdq.CarrylessMultiply(x, y, 0x00);
        hi ^= Pclmulqdq.CarrylessMultiply(x, y, 0x11);
        mid ^= Pclmulqdq.CarrylessMultiply(x, y, 0x01) ^ Pclmulqdq.CarrylessMultiply(x, y, 0x10);
    }

    /// <summary>Folds the middle term in, shifts the 256-bit product left one bit, and reduces it to 128 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Reduce(Vector128<ulong> lo, Vector128<ulong> mid, Vector128<ulong> hi)
    {
        var low = (lo ^ Sse2.ShiftLeftLogical128BitLane(mid, 8)).AsUInt32();
        var high = (hi ^ Sse2.ShiftRightLogical128BitLane(mid, 8)).AsUInt32();

        // hi:lo <<= 1 — each 32-bit lane's top bit moves to the next lane up, lo's top bit into hi's bottom.
        var lowCarry = Sse2.ShiftRightLogical(low, 31);
        var highCarry = Sse2.ShiftRightLogical(high, 31);
        low = Sse2.ShiftLeftLogical(low, 1) | Sse2.ShiftLeftLogical128BitLane(lowCarry, 4);
        high = Sse2.ShiftLeftLogical(high, 1) | Sse2.ShiftLeftLogical128BitLane(highCarry, 4) | Sse2.ShiftRightLogical128BitLane(lowCarry, 12);

        // Reduction by x¹²⁸ + x⁷ + x² + x + 1, reflected: first the 32-bit shifts left by 31, 30 and 25 ...
        var fold = Sse2.ShiftLeftLogical(low, 31) ^ Sse2.ShiftLeftLogical(low, 30) ^ Sse2.ShiftLeftLogical(low, 25);
        var spill = Sse2.ShiftRightLogical128BitLane(fold, 4);
        low ^= Sse2.ShiftLeftLogical128BitLane(fold, 12);

        // ... then right by 1, 2 and 7, and the result lands on the high half.
        var back = Sse2.ShiftRightLogical(low, 1) ^ Sse2.ShiftRightLogical(low, 2) ^ Sse2.ShiftRightLogical(low, 7) ^ spill;
        return (high ^ low ^ back).AsByte();
    }
}

/// <summary>
/// SRTP's AES-128-GCM: <see cref="Aes128GcmIntrinsics"/> where the CPU has the instructions, else .NET's
/// <see cref="AesGcm"/> (OpenSSL). Both in place; a failed tag check is a false return, not an exception.
/// </summary>
internal sealed class GcmCipher : IDisposable
{
    private readonly Aes128GcmIntrinsics? _fast;
    private readonly AesGcm? _portable;

    /// <summary>Creates the cipher.</summary>
    /// <param name="key">A 16-byte key.</param>
    /// <param name="useIntrinsics">False forces .NET's <see cref="AesGcm"/> (tests compare the two).</param>
    public GcmCipher(ReadOnlySpan<byte> key, bool useIntrinsics = true)
    {
        if (useIntrinsics && key.Length == 16 && Aes128GcmIntrinsics.IsSupported)
        {
            _fast = new Aes128GcmIntrinsics(key);
        }
        else
        {
            _portable = new AesGcm(key, Aes128GcmIntrinsics.TagSize);
        }
    }

    /// <summary>Whether the intrinsics path runs.</summary>
    public bool UsesIntrinsics => _fast is not null;

    /// <summary>Encrypts in place and writes the tag.</summary>
    /// <param name="nonce">12 bytes.</param>
    /// <param name="data">Plaintext in, ciphertext out.</param>
    /// <param name="tag">16 bytes out.</param>
    /// <param name="aad">Authenticated only.</param>
    public void Encrypt(ReadOnlySpan<byte> nonce, Span<byte> data, Span<byte> tag, ReadOnlySpan<byte> aad)
    {
        if (_fast is { } fast)
        {
            fast.Encrypt(nonce, data, tag, aad);
        }
        else
        {
            _portable!.Encrypt(nonce, data, data, tag, aad);
        }
    }

    /// <summary>Checks the tag and decrypts in place.</summary>
    /// <param name="nonce">12 bytes.</param>
    /// <param name="data">Ciphertext in, plaintext out.</param>
    /// <param name="tag">16 bytes.</param>
    /// <param name="aad">Authenticated only.</param>
    /// <returns>Whether the tag matched.</returns>
    public bool Decrypt(ReadOnlySpan<byte> nonce, Span<byte> data, ReadOnlySpan<byte> tag, ReadOnlySpan<byte> aad)
    {
        if (_fast is { } fast)
        {
            return fast.Decrypt(nonce, data, tag, aad);
        }

        try
        {
            _portable!.Decrypt(nonce, data, tag, data, aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _fast?.Dispose();
        _portable?.Dispose();
    }
}
