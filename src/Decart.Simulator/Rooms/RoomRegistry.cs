using System.Collections.Concurrent;
using System.Security.Cryptography;
using Decart.Simulator.Realtime;

namespace Decart.Simulator.Rooms;

/// <summary>
/// One LiveKit room of the built-in room server: made for one realtime session at its <c>livekit_join</c>, with
/// the model participant (<c>inference-server-…</c>) that publishes the session's output.
/// </summary>
internal sealed class Room
{
    public Room(SimulatedSession session)
    {
        Session = session;
        string id = session.Id[..12];
        Name = "decart-" + id;
        Sid = "RM_" + id;
        Token = "lk_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        ModelIdentity = "inference-server-" + id;
        ModelParticipantSid = "PA_model" + id;
        ModelTrackSid = "TR_model" + id;
    }

    public SimulatedSession Session { get; }

    public string Name { get; }

    public string Sid { get; }

    /// <summary>The access token handed out in <c>livekit_room_info</c> (opaque to livekit-client).</summary>
    public string Token { get; }

    public string ModelIdentity { get; }

    public string ModelParticipantSid { get; }

    public string ModelTrackSid { get; }

    private RoomParticipant? _publisher;

    /// <summary>The publisher's signal connection, once joined.</summary>
    public RoomParticipant? Publisher => Volatile.Read(ref _publisher);

    /// <summary>Claims the room for a participant; false when someone joined first.</summary>
    public bool TryJoin(RoomParticipant participant) => Interlocked.CompareExchange(ref _publisher, participant, null) is null;
}

/// <summary>The rooms of the built-in room server, by token and by name. A room lives as long as its session.</summary>
internal sealed class RoomRegistry
{
    private readonly ConcurrentDictionary<string, Room> _byToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Room> _byName = new(StringComparer.Ordinal);

    public int Count => _byName.Count;

    public Room Create(SimulatedSession session)
    {
        var room = new Room(session);
        _byToken[room.Token] = room;
        _byName[room.Name] = room;
        return room;
    }

    public Room? FindByToken(string? token) => token is not null && _byToken.TryGetValue(token, out var room) ? room : null;

    public Room? FindByName(string? name) => name is not null && _byName.TryGetValue(name, out var room) ? room : null;

    /// <summary>Removes the room and tells its participant to leave.</summary>
    public async Task CloseAsync(Room room)
    {
        _byToken.TryRemove(room.Token, out _);
        _byName.TryRemove(room.Name, out _);
        if (room.Publisher is { } publisher)
        {
            await publisher.LeaveAsync().ConfigureAwait(false);
        }
    }
}
