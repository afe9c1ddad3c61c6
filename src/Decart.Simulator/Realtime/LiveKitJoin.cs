using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Realtime;

/// <summary>
/// Decart's current flow on <c>/v1/stream</c> (PROTOCOL-LIVEKIT §1, JS SDK 0.1.x): <c>livekit_join</c> (with
/// <c>passthrough</c>, <c>client_capabilities.frame_timing</c>, or the bundled <c>initial_state</c> of JS SDK
/// 0.1.6–0.1.7) opens a room of the built-in room server; the client is told its place (<c>queue_position</c>) while
/// a <c>queue</c> fault holds it and while the model is at capacity (<see cref="SessionSlots"/>), then gets
/// <c>livekit_room_info</c>. The media is negotiated in the room (<see cref="Rooms.RoomParticipant"/>).
/// </summary>
internal sealed class LiveKitJoin(ISignalingContext session, Rooms.RoomRegistry rooms, SessionFaults faults, SessionSlots slots, Uri? roomBase, ILogger logger, Action changed, TimeProvider time, CancellationToken life)
{
    /// <summary>The session's room, once joined.</summary>
    public Rooms.Room? Room { get; private set; }

    /// <summary>The join asked for passthrough (no initial state).</summary>
    public bool Passthrough { get; private set; }

    /// <summary>When <c>livekit_room_info</c> was sent (a timestamp of the session's clock), or 0 before.</summary>
    public long RoomInfoSentAt => Interlocked.Read(ref _roomInfoSentAt);

    private long _roomInfoSentAt;
    private int _faultPosition;

    /// <summary>The place a <c>queue</c> fault holds the session at, or null.</summary>
    public int? FaultQueuePosition => Volatile.Read(ref _faultPosition) is > 0 and var p ? p : null;

    /// <summary>The join advertised <c>client_capabilities.frame_timing</c>.</summary>
    public bool FrameTiming { get; private set; }

    /// <summary>Handles <c>livekit_join</c>.</summary>
    /// <param name="root">The message.</param>
    /// <param name="owner">The session the room belongs to.</param>
    /// <param name="directStarted">Whether the direct flow already began (then the join is refused).</param>
    /// <param name="initialState">Applies a bundled initial state (as <c>set_image</c> when it has an image, else as <c>prompt</c>).</param>
    public void Join(JsonElement root, SimulatedSession owner, bool directStarted, Action<JsonElement, bool> initialState)
    {
        if (Room is not null || directStarted || roomBase is null)
        {
            session.Ignored();
            session.SendError("livekit_join is accepted once, before any offer");
            return;
        }

        Passthrough = root.TryGetProperty("passthrough", out var p) && p.ValueKind == JsonValueKind.True;
        FrameTiming = root.TryGetProperty("client_capabilities", out var caps) && caps.ValueKind == JsonValueKind.Object
            && caps.TryGetProperty("frame_timing", out var ft) && ft.ValueKind == JsonValueKind.True;
        if (root.TryGetProperty("initial_state", out var initial) && initial.ValueKind == JsonValueKind.Object)
        {
            if (initial.TryGetProperty("image_data", out _) || initial.TryGetProperty("image_ref", out _))
            {
                initialState(initial, true);
            }
            else if (initial.TryGetProperty("prompt", out _))
            {
                initialState(initial, false);
            }
        }

        var room = Room = rooms.Create(owner);
        logger.LogInformation("session {Session}: livekit_join, room {Room}", session.Id, room.Name);
        _ = AdmitAsync(owner, room, faults.Queue());
    }

    /// <summary>A <c>queue</c> fault's wait first (its places counted down), then a model slot (real places), then the room.</summary>
    private async Task AdmitAsync(SimulatedSession owner, Rooms.Room room, (int Length, TimeSpan Step)? forced)
    {
        try
        {
            if (forced is { } queue)
            {
                for (int position = queue.Length; position >= 1; position--)
                {
                    Volatile.Write(ref _faultPosition, position);
                    changed();
                    SendPosition(position, queue.Length);
                    await Task.Delay(queue.Step, time, life).ConfigureAwait(false);
                }

                Volatile.Write(ref _faultPosition, 0);
            }

            var slot = slots.AcquireAsync(owner, (position, size) => { SendPosition(position, size); changed(); }, life);
            if (!slot.IsCompleted)
            {
                logger.LogInformation("session {Session}: the model is at capacity; queued", session.Id);
            }

            await slot.ConfigureAwait(false);
            SendRoomInfo(room);
        }
        catch (OperationCanceledException)
        {
            // The session ended while queued.
        }
    }

    private void SendPosition(int position, int size) =>
        session.Send(new JsonObject { ["type"] = "queue_position", ["position"] = position, ["queue_size"] = size });

    private void SendRoomInfo(Rooms.Room room)
    {
        session.Send(new JsonObject
        {
            ["type"] = "livekit_room_info",
            ["livekit_url"] = new Uri(roomBase!, "lk").ToString(),
            ["token"] = room.Token,
            ["room_name"] = room.Name,
            ["session_id"] = session.Id,
        });
        Interlocked.Exchange(ref _roomInfoSentAt, time.GetTimestamp());
        changed();
    }
}
