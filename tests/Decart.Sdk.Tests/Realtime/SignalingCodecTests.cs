using System.Text;
using Decart.Sdk.Realtime.Signaling;
using FsCheck;
using FsCheck.Fluent;

namespace Decart.Sdk.Tests.Realtime;

public class SignalingCodecTests
{
    private static string Json(OutgoingSignal s) => Encoding.UTF8.GetString(SignalingCodec.Serialize(s));

    [Fact]
    public void Outgoing_messages_have_the_wire_shapes_of_the_protocol()
    {
        Assert.Equal("""{"prompt":"Anime","enhance_prompt":true,"type":"prompt"}""", Json(new PromptSignal("Anime", true)));
        Assert.Equal("""{"image_data":"AAEC","prompt":"Cyberpunk","enhance_prompt":false,"type":"set_image"}""", Json(new SetImageSignal("AAEC", "Cyberpunk", false)));
        Assert.Equal("""{"image_data":null,"type":"set_image"}""", Json(new SetImageSignal(null, null, null)));

        // An uploaded file goes as image_ref, never with image_data beside it (the service takes exactly one).
        var file = Decart.Sdk.Realtime.ImageInput.FromFileRef("file_abc123");
        Assert.Equal("""{"image_ref":"file_abc123","type":"set_image"}""", Json(ImageSignals.SetImage(file, null, null)));
        Assert.Equal("""{"image_ref":"file_abc123","prompt":"noir","enhance_prompt":true,"type":"set_image"}""", Json(ImageSignals.SetImage(file, "noir", true)));
        Assert.Equal("""{"image_ref":"file_abc123","prompt":null,"enhance_prompt":false,"type":"set_image"}""", Json(ImageSignals.SetState(file, null, false)));
        Assert.Equal("""{"image_data":"AAEC","prompt":"p","enhance_prompt":true,"type":"set_image"}""", Json(ImageSignals.SetState(Decart.Sdk.Realtime.ImageInput.FromBytes([0, 1, 2]), "p", true)));
        Assert.Equal("""{"image_data":null,"prompt":"p","enhance_prompt":true,"type":"set_image"}""", Json(ImageSignals.SetState(null, "p", true)));
        Assert.Equal("""{"type":"offer","sdp":"v=0\r\n"}""", Json(new SdpSignal("offer", "v=0\r\n")));
        Assert.Equal("""{"candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0},"type":"ice-candidate"}""",
            Json(new IceCandidateSignal(new IceCandidateInit("candidate:1 1 udp 1 127.0.0.1 5000 typ host", "0", 0))));
        Assert.Equal("""{"candidate":null,"type":"ice-candidate"}""", Json(new IceCandidateSignal(null)));
    }

    public static TheoryData<string, object> Incoming() => new()
    {
        { """{"type":"error","error":"Model x not found"}""", new ErrorSignal("Model x not found") },
        { """{"type":"set_image_ack","success":true,"error":null}""", new SetImageAckSignal(true, null) },
        { """{"success":false,"type":"set_image_ack","error":"bad image"}""", new SetImageAckSignal(false, "bad image") },
        { """{"type":"prompt_ack","prompt":"Anime","success":true,"error":null}""", new PromptAckSignal("Anime", true, null) },
        { """{"type":"session_id","session_id":"s1","server_ip":"127.0.0.1","server_port":4000}""", new SessionIdSignal("s1", "127.0.0.1", 4000) },
        { """{"type":"generation_started"}""", new GenerationStartedSignal() },
        { """{"type":"generation_tick","seconds":2}""", new GenerationTickSignal(2) },
        { """{"type":"generation_ended","seconds":7.5,"reason":"insufficient credits"}""", new GenerationEndedSignal(7.5, "insufficient credits") },
        { """{"type":"answer","sdp":"v=0"}""", new RemoteSdpSignal("answer", "v=0") },
        { """{"type":"offer","sdp":"v=0"}""", new RemoteSdpSignal("offer", "v=0") },
        { """{"type":"ice-candidate","candidate":null}""", new RemoteCandidateSignal(null) },
        { """{"type":"ice-candidate","candidate":{"candidate":"candidate:1 1 udp 1 ::1 9 typ host","sdpMid":"0","sdpMLineIndex":0}}""", new RemoteCandidateSignal(new IceCandidateInit("candidate:1 1 udp 1 ::1 9 typ host", "0", 0)) },
    };

    [Theory]
    [MemberData(nameof(Incoming))]
    public void Incoming_messages_parse_whatever_the_property_order(string json, object expected)
    {
        Assert.True(SignalingCodec.TryParse(Encoding.UTF8.GetBytes(json), out var message, out _, out _));
        Assert.Equal(expected, message);
    }

    [Theory]
    [InlineData("", SignalParseError.MalformedJson)]
    [InlineData("{", SignalParseError.MalformedJson)]
    [InlineData("not json", SignalParseError.MalformedJson)]
    [InlineData("[1,2]", SignalParseError.MalformedJson)]
    [InlineData("\"text\"", SignalParseError.MalformedJson)]
    [InlineData("{}", SignalParseError.MissingType)]
    [InlineData("""{"type":5}""", SignalParseError.MissingType)]
    [InlineData("""{"type":"hologram"}""", SignalParseError.UnknownType)]
    [InlineData("""{"type":"set_image_ack"}""", SignalParseError.InvalidFields)]
    [InlineData("""{"type":"prompt_ack","success":"yes"}""", SignalParseError.InvalidFields)]
    [InlineData("""{"type":"generation_tick","seconds":"two"}""", SignalParseError.InvalidFields)]
    [InlineData("""{"type":"session_id"}""", SignalParseError.InvalidFields)]
    [InlineData("""{"type":"answer","sdp":""}""", SignalParseError.InvalidFields)]
    [InlineData("""{"type":"ice-candidate","candidate":42}""", SignalParseError.InvalidFields)]
    public void Bad_messages_get_a_named_error_not_an_exception(string json, object expected)
    {
        Assert.False(SignalingCodec.TryParse(Encoding.UTF8.GetBytes(json), out var message, out var error, out _));
        Assert.Null(message);
        Assert.Equal((SignalParseError)expected, error);
    }

    [Fact]
    public void Deeply_nested_json_is_rejected_without_a_stack_overflow()
    {
        var json = """{"type":"error","x":""" + new string('[', 5000) + new string(']', 5000) + "}";
        Assert.False(SignalingCodec.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error, out _));
        Assert.Equal(SignalParseError.MalformedJson, error);
    }

    [Fact]
    public void Random_and_mutated_bytes_never_throw()
    {
        var seeds = Incoming().Select(row => Encoding.UTF8.GetBytes((string)row[0])).ToArray();
        var mutated = from i in Gen.Choose(0, seeds.Length - 1)
                      from pos in Gen.Choose(0, 200)
                      from value in Gen.Choose(0, 255)
                      select Mutate(seeds[i], pos, (byte)value);
        var random = ArbMap.Default.GeneratorFor<byte[]>();
        Prop.ForAll(Gen.OneOf(mutated, random).ToArbitrary(), bytes =>
        {
            SignalingCodec.TryParse(bytes, out _, out _, out _);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    private static byte[] Mutate(byte[] seed, int position, byte value)
    {
        var copy = (byte[])seed.Clone();
        copy[position % copy.Length] = value;
        return copy;
    }
}
