using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using Decart.Simulator.Faults;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary>An uploaded file as a realtime session's image (<c>image_ref</c>), over real sockets on both transports.</summary>
public class FileRefSessionTests
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task An_uploaded_file_is_the_initial_image_an_update_and_what_a_reconnect_restores(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        var first = await client.Files.UploadAsync(new MemoryStream(Png), "first.png");
        var second = await client.Files.UploadAsync(new MemoryStream(Png2), "second.png");
        await using var source = await SourceAsync();
        var log = new StateLog();

        // A file reference carries no bytes: the session can only have the image's hash if the server resolved the id.
        var initial = new RealtimeState { Prompt = "in this style", Image = ImageInput.FromFileRef(first.Id) };
        await using var rt = await client.Realtime.ConnectAsync(source, Options(log, initial, transport));
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.Equal((Sha256(Png), "in this style", "set_image"), (session.History[0].ImageHash, session.History[0].Prompt, session.History[0].Via));

        await rt.SetImageAsync(ImageInput.FromFileRef(second.Id), new SetImageOptions { Prompt = "second" });
        Assert.Equal((Sha256(Png2), "second"), (session.ImageHash, session.Prompt));

        // A deleted file is refused by the server: a typed error, and the state stays what it was.
        await client.Files.DeleteAsync(first.Id);
        var refused = await Assert.ThrowsAsync<DecartException>(() => rt.SetAsync(new RealtimeState { Prompt = "gone", Image = ImageInput.FromFileRef(first.Id) }));
        Assert.Equal(DecartErrorCode.InvalidInput, refused.Code);
        Assert.Contains("not found", refused.Message, StringComparison.Ordinal);
        Assert.Equal((Sha256(Png2), "second"), (session.ImageHash, session.Prompt));

        // The reconnect restores the last acknowledged state by reference again.
        var next = sim.Sessions.NextSessionAsync();
        await sim.DropAsync(session.Id, DropMode.WebSocket);
        var restored = await next.WaitAsync(TimeSpan.FromSeconds(30));
        await log.WaitForAsync(ConnectionState.Generating, occurrence: 2, seconds: 30);
        Assert.Equal((Sha256(Png2), "second", "set_image"), (restored.History[0].ImageHash, restored.History[0].Prompt, restored.History[0].Via));
        Assert.Empty(log.Errors);
    }
}
