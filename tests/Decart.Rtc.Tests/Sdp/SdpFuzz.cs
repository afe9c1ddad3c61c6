using Decart.Rtc.Sdp;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Rtc.Tests.Sdp;

/// <summary>What the SDP tests share: our side's parameters, and the mutation fuzzer of real offers.</summary>
internal static class SdpFuzz
{
    /// <summary>The answerer's parameters in the SDP tests.</summary>
    public static readonly LocalMediaParameters Local = new()
    {
        IceUfrag = "srvA",
        IcePwd = "0123456789abcdefghijklmn",
        Fingerprint = "sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99",
        Ssrc = 1111,
        RtxSsrc = 2222,
    };

    /// <summary>An offer with one line dropped, a cut copy of another appended, and one garbage line appended.</summary>
    /// <param name="offer">The real offer.</param>
    /// <param name="maxCut">The longest prefix of the copied line.</param>
    /// <param name="garbage">Lines to append.</param>
    /// <returns>The generator.</returns>
    public static Gen<string> Mutations(string offer, int maxCut, params string[] garbage)
    {
        var lines = offer.Split("\r\n");
        return from drop in Gen.Choose(0, lines.Length - 1)
               from dup in Gen.Choose(0, lines.Length - 1)
               from cut in Gen.Choose(0, maxCut)
               from extra in Gen.Elements(garbage)
               select string.Join("\r\n", lines.Where((_, i) => i != drop).Append(lines[dup][..Math.Min(lines[dup].Length, cut)]).Append(extra));
    }

    /// <summary>
    /// Every generated offer either fails to parse, or parses and goes through <paramref name="use"/> — which may refuse
    /// it with a <see cref="NegotiationException"/> and nothing else.
    /// </summary>
    /// <param name="offers">The offers.</param>
    /// <param name="use">What to do with a parsed offer (answer it, read its attributes).</param>
    /// <param name="maxTests">How many offers.</param>
    public static void ParseOrFailTyped(Gen<string> offers, Action<SessionDescription> use, int maxTests)
    {
        Prop.ForAll(offers.ToArbitrary(), sdp =>
        {
            try
            {
                if (SessionDescription.TryParse(sdp, SdpType.Offer, out var offer, out _, out _))
                {
                    use(offer!);
                }
            }
            catch (NegotiationException)
            {
                // A typed refusal (e.g. two sections with one mid) is the expected outcome for some mutations.
            }
            catch (Exception e)
            {
                // Name the input in the failure: the seed alone is hard to replay by hand.
                throw new InvalidOperationException($"{e.GetType().Name}: {e.Message}\n--- offer ---\n{sdp}", e);
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(maxTests));
    }
}
