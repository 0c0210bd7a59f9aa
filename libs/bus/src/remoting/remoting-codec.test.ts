import { encodeRequest, FrameDecoder, parseLenientJson, RemotingProtocolError, type RemotingCommand } from './remoting-codec';

/** A response frame as a broker writes it: JSON (0) or binary (1) header. */
function responseFrame(type: 0 | 1, opaque: number, code: number, extFields: Record<string, string>, body?: Buffer, remark?: string): Buffer {
  let header: Buffer;
  if (type === 0) {
    header = Buffer.from(JSON.stringify({ code, language: 'JAVA', version: 479, opaque, flag: 1, remark, extFields }));
  } else {
    const fields = Object.entries(extFields).map(([k, v]) => {
      const key = Buffer.from(k);
      const value = Buffer.from(v);
      const out = Buffer.alloc(2 + key.length + 4 + value.length);
      out.writeInt16BE(key.length, 0);
      key.copy(out, 2);
      out.writeInt32BE(value.length, 2 + key.length);
      value.copy(out, 6 + key.length);
      return out;
    });
    const fieldBytes = Buffer.concat(fields);
    const remarkBytes = Buffer.from(remark ?? '');
    header = Buffer.alloc(2 + 1 + 2 + 4 + 4 + 4 + remarkBytes.length + 4 + fieldBytes.length);
    let o = header.writeInt16BE(code, 0);
    o = header.writeUInt8(0, o);
    o = header.writeInt16BE(479, o);
    o = header.writeInt32BE(opaque, o);
    o = header.writeInt32BE(1, o);
    o = header.writeInt32BE(remarkBytes.length, o);
    o += remarkBytes.copy(header, o);
    o = header.writeInt32BE(fieldBytes.length, o);
    fieldBytes.copy(header, o);
  }
  const bodyLength = body?.length ?? 0;
  const frame = Buffer.alloc(8 + header.length + bodyLength);
  frame.writeUInt32BE(4 + header.length + bodyLength, 0);
  frame.writeUInt32BE(((type << 24) | header.length) >>> 0, 4);
  header.copy(frame, 8);
  body?.copy(frame, 8 + header.length);
  return frame;
}

describe('remoting codec', () => {
  it('writes requests in the binary header format a broker decodes', () => {
    const frame = encodeRequest(11, 42, { topic: 'voiceroom-voice', queueId: 3, flag: true, name: 'näme' }, Buffer.from('body'));
    expect(frame.readUInt32BE(0)).toBe(frame.length - 4);
    expect(frame[4]).toBe(1); // serialize type ROCKETMQ
    const decoded: RemotingCommand[] = [];
    new FrameDecoder((c) => decoded.push(c)).push(frame);
    expect(decoded).toHaveLength(1);
    const [request] = decoded as [RemotingCommand];
    expect(request).toMatchObject({ code: 11, opaque: 42, response: false, extFields: { topic: 'voiceroom-voice', queueId: '3', flag: 'true', name: 'näme' } });
    expect(request.body?.toString()).toBe('body');
  });

  it('reads JSON and binary responses split at any byte', () => {
    const frames = Buffer.concat([
      responseFrame(0, 7, 19, { nextBeginOffset: '12' }),
      responseFrame(1, 8, 0, { nextBeginOffset: '13', maxOffset: '13' }, Buffer.from('payload'), 'FOUND'),
    ]);
    for (let cut = 1; cut < frames.length; cut++) {
      const got: RemotingCommand[] = [];
      const decoder = new FrameDecoder((c) => got.push(c));
      decoder.push(frames.subarray(0, cut));
      decoder.push(frames.subarray(cut));
      expect(got.map((c) => [c.opaque, c.code, c.response, c.extFields.nextBeginOffset, c.body?.toString()])).toEqual([
        [7, 19, true, '12', undefined],
        [8, 0, true, '13', 'payload'],
      ]);
      expect(got[1]?.remark).toBe('FOUND');
    }
  });

  it('refuses frames it cannot read instead of guessing', () => {
    const decoder = new FrameDecoder(() => undefined);
    expect(() => decoder.push(Buffer.from([0, 0, 0, 2, 0, 0]))).toThrow(RemotingProtocolError);
    const unknownType = responseFrame(0, 1, 0, {});
    unknownType[4] = 9;
    expect(() => new FrameDecoder(() => undefined).push(unknownType)).toThrow(RemotingProtocolError);
    const truncatedFields = responseFrame(1, 1, 0, { a: 'b' });
    truncatedFields.writeInt32BE(1000, 8 + 17); // fields length beyond the header
    expect(() => new FrameDecoder(() => undefined).push(truncatedFields)).toThrow(RemotingProtocolError);
  });

  it('parses route bodies whose maps have unquoted integer keys (fastjson)', () => {
    const route = parseLenientJson<{ brokerDatas: { brokerAddrs: Record<string, string> }[] }>(
      '{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"b"}]}',
    );
    expect(route.brokerDatas[0]?.brokerAddrs).toEqual({ '0': '10.0.0.1:10911', '1': '10.0.0.2:10911' });
  });
});
