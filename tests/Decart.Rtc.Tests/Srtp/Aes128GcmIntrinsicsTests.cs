using System.Security.Cryptography;
using Decart.Rtc.Srtp;

namespace Decart.Rtc.Tests.Srtp;

/// <summary>
/// The AES-NI/PCLMULQDQ AES-128-GCM against the published test vectors (McGrew and Viega's GCM specification, test
/// cases 1–4) and against .NET's <see cref="AesGcm"/> (OpenSSL) on random keys, nonces, AAD and every length from 0 to
/// 300 bytes plus packet sizes: the same ciphertext and tag, each decrypting the other's, and a flipped bit anywhere
/// refused with the data zeroed.
/// </summary>
public class Aes128GcmIntrinsicsTests
{
    public static TheoryData<string, string, string, string, string, string> Vectors => new()
    {
        { "00000000000000000000000000000000", "000000000000000000000000", "", "", "", "58e2fccefa7e3061367f1d57a4e7455a" },
        { "00000000000000000000000000000000", "000000000000000000000000", "", "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf" },
        {
            "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
            "4d5c2af327cd64a62cf35abd2ba6fab4"
        },
        {
            "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
            "5bc94fbc3221a5db94fae95ae7121a47"
        },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void The_specifications_test_vectors(string key, string nonce, string aad, string plain, string cipher, string tag)
    {
        Assert.True(Aes128GcmIntrinsics.IsSupported, "this x86-64 machine has AES-NI and PCLMULQDQ: the fast path is what runs");
        using var gcm = new Aes128GcmIntrinsics(Convert.FromHexString(key));
        var data = Convert.FromHexString(plain);
        var t = new byte[16];
        gcm.Encrypt(Convert.FromHexString(nonce), data, t, Convert.FromHexString(aad));
        Assert.Equal(cipher, Convert.ToHexStringLower(data));
        Assert.Equal(tag, Convert.ToHexStringLower(t));
        Assert.True(gcm.Decrypt(Convert.FromHexString(nonce), data, t, Convert.FromHexString(aad)));
        Assert.Equal(plain, Convert.ToHexStringLower(data));
    }

    [Fact]
    public void Every_length_matches_dotnets_AesGcm_and_each_decrypts_the_others_output()
    {
        var random = new Random(20261207);
        // Every length to 600 crosses each path and each hand-over between them: the eight-block runs (from 256 bytes),
        // the four-block runs, single blocks and the partial last block.
        var lengths = Enumerable.Range(0, 601).Concat([1024, 1100, 1200, 1203, 1400, 4096]);
        foreach (int length in lengths)
        {
            var key = new byte[16];
            var nonce = new byte[12];
            var aad = new byte[random.Next(0, 70)];
            var plain = new byte[length];
            random.NextBytes(key);
            random.NextBytes(nonce);
            random.NextBytes(aad);
            random.NextBytes(plain);
            using var fast = new GcmCipher(key);
            using var reference = new GcmCipher(key, useIntrinsics: false);
            Assert.True(fast.UsesIntrinsics);
            Assert.False(reference.UsesIntrinsics);

            var a = (byte[])plain.Clone();
            var b = (byte[])plain.Clone();
            var tagA = new byte[16];
            var tagB = new byte[16];
            fast.Encrypt(nonce, a, tagA, aad);
            reference.Encrypt(nonce, b, tagB, aad);
            Assert.True(a.AsSpan().SequenceEqual(b), $"ciphertext differs at length {length}, aad {aad.Length}");
            Assert.True(tagA.AsSpan().SequenceEqual(tagB), $"tag differs at length {length}, aad {aad.Length}");

            Assert.True(fast.Decrypt(nonce, b, tagB, aad));
            Assert.True(reference.Decrypt(nonce, a, tagA, aad));
            Assert.True(a.AsSpan().SequenceEqual(plain) && b.AsSpan().SequenceEqual(plain), $"round trip at length {length}");
        }
    }

    [Fact]
    public void A_flipped_bit_in_the_data_the_aad_the_tag_or_the_nonce_is_refused_and_nothing_decrypted_is_handed_out()
    {
        // Bad input: one bit flipped in each of the four inputs in turn, on a 1,200-byte packet body.
        var random = new Random(7);
        var key = new byte[16];
        var nonce = new byte[12];
        var aad = new byte[24];
        var plain = new byte[1200];
        random.NextBytes(key);
        random.NextBytes(nonce);
        random.NextBytes(aad);
        random.NextBytes(plain);
        using var gcm = new Aes128GcmIntrinsics(key);
        var cipher = (byte[])plain.Clone();
        var tag = new byte[16];
        gcm.Encrypt(nonce, cipher, tag, aad);

        for (int which = 0; which < 4; which++)
        {
            var data = (byte[])cipher.Clone();
            var t = (byte[])tag.Clone();
            var a = (byte[])aad.Clone();
            var n = (byte[])nonce.Clone();
            var target = which switch { 0 => data, 1 => a, 2 => t, _ => n };
            target[random.Next(target.Length)] ^= (byte)(1 << random.Next(8));
            Assert.False(gcm.Decrypt(n, data, t, a), $"a flipped bit in input {which} passed");
            Assert.All(data, x => Assert.Equal(0, x));
        }

        Assert.Throws<ArgumentException>(() => gcm.Encrypt(new byte[8], cipher, tag, aad));
        Assert.Throws<ArgumentException>(() => new Aes128GcmIntrinsics(new byte[32]));

        // Used after disposal (its key schedule zeroed): refused, never encrypted with an all-zero key.
        gcm.Dispose();
        Assert.Throws<ObjectDisposedException>(() => gcm.Encrypt(nonce, cipher, tag, aad));
        Assert.Throws<ObjectDisposedException>(() => gcm.Decrypt(nonce, cipher, tag, aad));
    }
}
