using Decart.Sdk.Media;
using Decart.Sdk.Media.Vpx;

// Usage:
//   ClipMaker vp8 <out.ivf> <width> <height> <fps> <frames> [kbps]   VP8 in IVF, encoded with the SDK's libvpx encoder
//   ClipMaker raw <out.yuv> <width> <height> <frames>                raw I420 frames (input for ffmpeg's H.264 encoder)
if (args.Length < 5)
{
    Console.Error.WriteLine("usage: ClipMaker vp8 <out.ivf> <w> <h> <fps> <frames> [kbps] | raw <out.yuv> <w> <h> <frames>");
    return 2;
}

string mode = args[0];
string output = args[1];
int width = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
int height = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
using var frame = I420Frame.Rent(width, height);

if (mode == "raw")
{
    int count = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
    await using var raw = File.Create(output);
    for (int i = 0; i < count; i++)
    {
        TestPattern.Render(frame, i);
        await raw.WriteAsync(frame.Data.ToArray());
    }

    Console.WriteLine($"wrote {count} raw {width}x{height} I420 frames to {output}");
    return 0;
}

int fps = int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);
int frames = int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture);
int kbps = args.Length > 6 ? int.Parse(args[6], System.Globalization.CultureInfo.InvariantCulture) : 1000;
using var encoder = new Vp8Encoder(new Vp8EncoderOptions { Width = width, Height = height, Fps = fps, TargetBitrateKbps = kbps });
var buffer = new byte[encoder.MaxEncodedSize];
await using (var writer = IvfWriter.Create(output, new IvfHeader("VP80", width, height, fps, 1, 0)))
{
    for (int i = 0; i < frames; i++)
    {
        TestPattern.Render(frame, i);
        int size = encoder.Encode(frame, buffer, out _);
        if (size > 0)
        {
            await writer.WriteFrameAsync(buffer.AsMemory(0, size), i);
        }
    }
}

Console.WriteLine($"wrote {frames} VP8 {width}x{height}@{fps} frames to {output} ({new FileInfo(output).Length} bytes)");
return 0;
