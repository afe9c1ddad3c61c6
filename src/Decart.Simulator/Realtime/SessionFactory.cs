using System.Net.WebSockets;
using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;
using Decart.Simulator.Rest;
using Decart.Simulator.Rooms;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Realtime;

/// <summary>Assembles a <see cref="SimulatedSession"/> from the simulator's services (a DI singleton).</summary>
internal sealed class SessionFactory(SimulatorOptions options, FaultSet faults, RoomRegistry rooms, SessionRegistry sessions, ModelCatalog models, FileStore files, SessionSlots slots, ILogger<SimulatedSession> logger)
{
    /// <summary>The models, for the room front's checks.</summary>
    public ModelCatalog Models => models;

    public SimulatedSession Create(SimulatedModel model, WebSocket ws, IssuedToken? token, string? origin, string? userAgent, Uri? roomBase) =>
        new(options, faults, rooms, sessions, logger, model, ws, token, origin, userAgent, roomBase, files, slots);
}
