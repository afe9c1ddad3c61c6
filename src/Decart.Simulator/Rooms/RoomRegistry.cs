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

    private readonly List<RoomParticipant> _viewers = [];

    /// <summary>The viewers joined now (receive-only participants from <c>/watch-stream</c>).</summary>
    public IReadOnlyList<RoomParticipant> Viewers
    {
        get
        {
            lock (_viewers)
            {
                return _viewers.ToArray();
            }
        }
    }

    public void AddViewer(RoomParticipant viewer)
    {
        lock (_viewers)
        {
            _viewers.Add(viewer);
        }
    }

    public void RemoveViewer(RoomParticipant viewer)
    {
        lock (_viewers)
        {
            _viewers.Remove(viewer);
        }
    }
}

/// <summary>A viewer's grant to join a room receive-only, handed out by <c>/watch-stream/{room}</c>.</summary>
/// <param name="Room">The room.</param>
/// <param name="Token">The access token for the room's signal endpoint.</param>
/// <param name="Identity">The viewer's participant identity.</param>
internal sealed record ViewerGrant(Room Room, string Token, string Identity);

/// <summary>The rooms of the built-in room server, by token and by name. A room lives as long as its session.</summary>
internal sealed class RoomRegistry
{
    private readonly ConcurrentDictionary<string, Room> _byToken = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Room> _byName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ViewerGrant> _viewerGrants = new(StringComparer.Ordinal);

    public int Count => _byName.Count;

    /// <summary>Viewer grants not yet used or expired with their room (bounded: at most <see cref="Realtime.SessionMedia.MaxViewers"/> × 4 per room).</summary>
    public int ViewerGrants => _viewerGrants.Count;

    /// <summary>A grant for one viewer to join <paramref name="room"/>; null when the room has handed out as many as it may.</summary>
    public ViewerGrant? GrantViewer(Room room)
    {
        if (_viewerGrants.Values.Count(g => g.Room == room) >= Realtime.SessionMedia.MaxViewers * 4)
        {
            return null;
        }

        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var grant = new ViewerGrant(room, "lkv_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), "viewer-" + id);
        _viewerGrants[grant.Token] = grant;
        return grant;
    }

    /// <summary>The viewer grant of a token, if it is one and its room is open.</summary>
    public ViewerGrant? FindViewer(string? token) =>
        token is not null && _viewerGrants.TryGetValue(token, out var grant) && _byName.ContainsKey(grant.Room.Name) ? grant : null;

    /// <summary>A viewer's grant is spent when it joins (one join per grant, like the publisher's token).</summary>
    public bool SpendViewer(ViewerGrant grant) => _viewerGrants.TryRemove(grant.Token, out _);

    public Room Create(SimulatedSession session)
    {
        var room = new Room(session);
        _byToken[room.Token] = room;
        _byName[room.Name] = room;
        return room;
    }

    public Room? FindByToken(string? token) => token is not null && _byToken.TryGetValue(token, out var room) ? room : null;

    public Room? FindByName(string? name) => name is not null && _byName.TryGetValue(name, out var room) ? room : null;

    /// <summary>Removes the room and tells its participants (the publisher and any viewers) to leave.</summary>
    public async Task CloseAsync(Room room)
    {
        _byToken.TryRemove(room.Token, out _);
        _byName.TryRemove(room.Name, out _);
        foreach (var (token, grant) in _viewerGrants)
        {
            if (grant.Room == room)
            {
                _viewerGrants.TryRemove(token, out _);
            }
        }

        foreach (var viewer in room.Viewers)
        {
            await viewer.LeaveAsync().ConfigureAwait(false);
        }

        if (room.Publisher is { } publisher)
        {
            await publisher.LeaveAsync().ConfigureAwait(false);
        }
    }
}
