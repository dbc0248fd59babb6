using Akka.Actor;
using Akka.Serialization;

namespace DayTrading.Persistence;

/// <summary>Payload (de)serialization through Akka's Serialization, honouring custom serializers and manifests.</summary>
internal sealed class PayloadSerializer
{
    private readonly ExtendedActorSystem _system;
    private readonly Akka.Serialization.Serialization _serialization;

    public PayloadSerializer(ActorSystem system)
    {
        _system = (ExtendedActorSystem)system;
        _serialization = system.Serialization;
    }

    public (int SerializerId, string Manifest, byte[] Bytes) Serialize(object payload)
    {
        var serializer = _serialization.FindSerializerFor(payload);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, payload);
        var bytes = Akka.Serialization.Serialization.WithTransport(_system, () => serializer.ToBinary(payload));
        return (serializer.Identifier, manifest ?? "", bytes);
    }

    public object Deserialize(byte[] bytes, int serializerId, string manifest) =>
        _serialization.Deserialize(bytes, serializerId, manifest);
}
