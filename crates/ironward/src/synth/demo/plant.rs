//! The plant's operations in the demo: what an OT monitor is for.
//!
//! * the HMI reads the Modicon's device identification (Modbus function 43/14);
//! * the Raspberry Pi nobody knows writes 30 holding registers on the Modicon;
//! * the engineering workstation identifies the S7-1500 (SZL 0x0011 order number and firmware,
//!   0x001C names and serial, 0x0424 state), downloads OB1, stops the CPU and restarts it;
//! * the historian lists the Rockwell controller's identity (EtherNet/IP ListIdentity) and reads
//!   a tag over CIP.
//!
//! Every PDU is built here from the public protocol layouts, byte by byte.

use super::{Scenario, HISTORIAN, HMI, LOGIX, MODICON, S7_PLC, SCANNER, WORKSTATION};

/// A Modbus/TCP ADU: MBAP header (transaction `id`, protocol 0, length) + unit 1 + `pdu`.
fn mbap(id: u16, pdu: &[u8]) -> Vec<u8> {
    let mut adu = Vec::with_capacity(7 + pdu.len());
    adu.extend_from_slice(&id.to_be_bytes());
    adu.extend_from_slice(&[0, 0]);
    adu.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    adu.push(1);
    adu.extend_from_slice(pdu);
    adu
}

/// Read Device Identification (43/14) for `code` (1 basic, 2 regular) and its answer with
/// `objects` (id, value).
fn modbus_device_identification(id: u16, code: u8, objects: &[(u8, &str)]) -> (Vec<u8>, Vec<u8>) {
    let request = mbap(id, &[0x2b, 0x0e, code, 0x00]);
    let mut pdu = vec![0x2b, 0x0e, code, 0x02, 0x00, 0x00, objects.len() as u8];
    for (object, value) in objects {
        pdu.push(*object);
        pdu.push(value.len() as u8);
        pdu.extend_from_slice(value.as_bytes());
    }
    (request, mbap(id, &pdu))
}

/// Write Multiple Registers (16) of `values` from `address`, and its answer.
fn modbus_write_registers(id: u16, address: u16, values: &[u16]) -> (Vec<u8>, Vec<u8>) {
    let count = values.len() as u16;
    let mut pdu = vec![0x10];
    pdu.extend_from_slice(&address.to_be_bytes());
    pdu.extend_from_slice(&count.to_be_bytes());
    pdu.push((2 * values.len()) as u8);
    for v in values {
        pdu.extend_from_slice(&v.to_be_bytes());
    }
    let mut answer = vec![0x10];
    answer.extend_from_slice(&address.to_be_bytes());
    answer.extend_from_slice(&count.to_be_bytes());
    (mbap(id, &pdu), mbap(id, &answer))
}

/// An S7comm PDU in a COTP DT TPDU in a TPKT record. `rosctr` 1 job, 3 ack-data, 7 userdata;
/// ack-data carries the error class and code (here 0).
fn s7(rosctr: u8, pdu_ref: u16, param: &[u8], data: &[u8]) -> Vec<u8> {
    let mut pdu = vec![0x32, rosctr, 0, 0];
    pdu.extend_from_slice(&pdu_ref.to_be_bytes());
    pdu.extend_from_slice(&(param.len() as u16).to_be_bytes());
    pdu.extend_from_slice(&(data.len() as u16).to_be_bytes());
    if rosctr == 2 || rosctr == 3 {
        pdu.extend_from_slice(&[0, 0]);
    }
    pdu.extend_from_slice(param);
    pdu.extend_from_slice(data);
    let mut record = vec![0x03, 0x00];
    record.extend_from_slice(&((pdu.len() + 7) as u16).to_be_bytes());
    record.extend_from_slice(&[0x02, 0xf0, 0x80]);
    record.extend_from_slice(&pdu);
    record
}

/// A text field of `len` bytes, padded with `pad`.
fn padded(text: &str, len: usize, pad: u8) -> Vec<u8> {
    let mut field = text.as_bytes().to_vec();
    field.resize(len, pad);
    field
}

/// Read SZL `id`/`index` (userdata, CPU functions) and the answer with `records` of
/// `record_len` bytes each.
fn s7_read_szl(pdu_ref: u16, id: u16, records: &[Vec<u8>], record_len: u16) -> (Vec<u8>, Vec<u8>) {
    let mut data = vec![0xff, 0x09, 0x00, 0x04];
    data.extend_from_slice(&id.to_be_bytes());
    data.extend_from_slice(&[0, 0]);
    let request = s7(
        7,
        pdu_ref,
        &[0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00],
        &data,
    );
    let mut szl = Vec::new();
    szl.extend_from_slice(&id.to_be_bytes());
    szl.extend_from_slice(&[0, 0]);
    szl.extend_from_slice(&record_len.to_be_bytes());
    szl.extend_from_slice(&(records.len() as u16).to_be_bytes());
    for record in records {
        szl.extend_from_slice(record);
    }
    let mut data = vec![0xff, 0x09];
    data.extend_from_slice(&(szl.len() as u16).to_be_bytes());
    data.extend_from_slice(&szl);
    let param = [
        0x00, 0x01, 0x12, 0x08, 0x12, 0x84, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
    ];
    (request, s7(7, pdu_ref, &param, &data))
}

/// An SZL 0x0011 record: index, order number (MLFB), module type, and two version words.
fn module_identification(index: u16, mlfb: &str, versions: [u8; 4]) -> Vec<u8> {
    let mut record = index.to_be_bytes().to_vec();
    record.extend_from_slice(&padded(mlfb, 20, b' '));
    record.extend_from_slice(&[0x00, 0xc0]);
    record.extend_from_slice(&versions);
    record
}

/// An SZL 0x001C record: index and a 32-byte name.
fn component_identification(index: u16, text: &str) -> Vec<u8> {
    let mut record = index.to_be_bytes().to_vec();
    record.extend_from_slice(&padded(text, 32, 0));
    record
}

/// An SZL 0x0424 record (mode transition): event id, `bzu-id` (previous mode in the high
/// nibble, current in the low: 8 run, 4 stop (internal)), and a BCD time stamp.
fn cpu_mode(event: u16, bzu: u8) -> Vec<u8> {
    let mut record = event.to_be_bytes().to_vec();
    record.extend_from_slice(&[0xff, bzu, 0, 0, 0, 0]);
    record.extend_from_slice(&[0x26, 0x03, 0x02, 0x08, 0x14, 0x02, 0x00, 0x01]);
    record.extend_from_slice(&[0, 0, 0, 0]);
    record
}

/// The block-control parameter of a download request, block, or end: function, status,
/// reserved bytes, and the file name of `block` (`_0800001P` is OB1, passive file system).
fn block_param(function: u8, block: &str, tail: &[u8]) -> Vec<u8> {
    let mut param = vec![function, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00];
    param.push(block.len() as u8);
    param.extend_from_slice(block.as_bytes());
    param.extend_from_slice(tail);
    param
}

/// An EtherNet/IP encapsulation header (little endian) for `command` with `data`.
fn enip(command: u16, session: u32, data: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(24 + data.len());
    frame.extend_from_slice(&command.to_le_bytes());
    frame.extend_from_slice(&(data.len() as u16).to_le_bytes());
    frame.extend_from_slice(&session.to_le_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(b"ironward");
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(data);
    frame
}

/// A ListIdentity reply: one CIP identity item.
fn list_identity_reply() -> Vec<u8> {
    let name = b"1756-L83E/B";
    let mut item = Vec::new();
    item.extend_from_slice(&1u16.to_le_bytes()); // encapsulation version
    item.extend_from_slice(&2u16.to_be_bytes()); // sockaddr: AF_INET, port, address, zero
    item.extend_from_slice(&44_818u16.to_be_bytes());
    item.extend_from_slice(&LOGIX.ip.octets());
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(&1u16.to_le_bytes()); // vendor: Rockwell Automation/Allen-Bradley
    item.extend_from_slice(&14u16.to_le_bytes()); // device type: programmable logic controller
    item.extend_from_slice(&166u16.to_le_bytes()); // product code
    item.extend_from_slice(&[33, 11]); // revision 33.11
    item.extend_from_slice(&0x0060u16.to_le_bytes()); // status
    item.extend_from_slice(&0x60c0_ffeeu32.to_le_bytes()); // serial number
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(3); // state
    let mut data = Vec::new();
    data.extend_from_slice(&1u16.to_le_bytes());
    data.extend_from_slice(&0x000cu16.to_le_bytes());
    data.extend_from_slice(&(item.len() as u16).to_le_bytes());
    data.extend_from_slice(&item);
    enip(0x0063, 0, &data)
}

/// SendRRData carrying one unconnected CIP message.
fn send_rr_data(session: u32, cip: &[u8]) -> Vec<u8> {
    let mut data = vec![0, 0, 0, 0, 0, 0]; // interface handle, timeout
    data.extend_from_slice(&2u16.to_le_bytes());
    data.extend_from_slice(&[0, 0, 0, 0]); // null address item
    data.extend_from_slice(&0x00b2u16.to_le_bytes());
    data.extend_from_slice(&(cip.len() as u16).to_le_bytes());
    data.extend_from_slice(cip);
    enip(0x006f, session, &data)
}

/// CIP Read Tag of `tag` (one element) and its answer (a REAL).
fn cip_read_tag(tag: &str, value: f32) -> (Vec<u8>, Vec<u8>) {
    let mut path = vec![0x91, tag.len() as u8];
    path.extend_from_slice(tag.as_bytes());
    if path.len() % 2 == 1 {
        path.push(0);
    }
    let mut request = vec![0x4c, (path.len() / 2) as u8];
    request.extend_from_slice(&path);
    request.extend_from_slice(&1u16.to_le_bytes());
    let mut answer = vec![0xcc, 0x00, 0x00, 0x00];
    answer.extend_from_slice(&0x00cau16.to_le_bytes());
    answer.extend_from_slice(&value.to_le_bytes());
    (request, answer)
}

/// Adds the plant's operations to the scenario.
pub(super) fn operations(s: &mut Scenario) -> anyhow::Result<()> {
    // The HMI asks the Modicon who it is (basic, then regular objects).
    let basic = modbus_device_identification(
        0x0101,
        1,
        &[(0, "Schneider Electric"), (1, "BMX P34 2020"), (2, "v3.10")],
    );
    let regular = modbus_device_identification(
        0x0102,
        2,
        &[(3, "www.se.com"), (4, "Modicon M340"), (5, "BMX P34 2020")],
    );
    s.tcp_session(
        (HMI.mac, HMI.ip, 50_110),
        (MODICON.mac, MODICON.ip, 502),
        &[
            (&basic.0[..], &basic.1[..]),
            (&regular.0[..], &regular.1[..]),
        ],
        150,
        None,
    )?;

    // The unknown Raspberry Pi writes 30 holding registers (set points 100-129) on the Modicon.
    let values: Vec<u16> = (0..30).map(|i| 0x7fff - i).collect();
    let write = modbus_write_registers(0x0666, 100, &values);
    s.tcp_session(
        (SCANNER.mac, SCANNER.ip, 40_666),
        (MODICON.mac, MODICON.ip, 502),
        &[(&write.0[..], &write.1[..])],
        80,
        None,
    )?;

    // The engineering workstation identifies the S7-1500, downloads OB1, stops the CPU and
    // starts it again.
    let cotp_cr: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x02, 0x00, 0xc1, 0x02, 0x01, 0x00,
        0xc2, 0x02, 0x01, 0x01, 0xc0, 0x01, 0x0a,
    ];
    let cotp_cc: &[u8] = &[
        0x03, 0x00, 0x00, 0x16, 0x11, 0xd0, 0x00, 0x02, 0x00, 0x02, 0x00, 0xc0, 0x01, 0x0a, 0xc1,
        0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x01,
    ];
    let setup = s7(
        1,
        0x0100,
        &[0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0],
        &[],
    );
    let setup_ack = s7(
        3,
        0x0100,
        &[0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0],
        &[],
    );
    let mlfb = "6ES7 516-3AN01-0AB0";
    let module = s7_read_szl(
        0x0101,
        0x0011,
        &[
            module_identification(1, mlfb, [0x00, 0x05, 0x00, 0x01]),
            module_identification(6, mlfb, [0x00, 0x05, 0x00, 0x01]),
            module_identification(7, "", [b'V', 2, 9, 4]),
        ],
        28,
    );
    let component = s7_read_szl(
        0x0102,
        0x001c,
        &[
            component_identification(1, "PLC_Line3"),
            component_identification(2, "CPU 1516-3 PN/DP"),
            component_identification(3, "Plant A / Line 3"),
            component_identification(5, "S C-J5U123456789"),
            component_identification(7, "CPU 1516-3 PN/DP"),
        ],
        34,
    );
    let running = s7_read_szl(0x0103, 0x0424, &[cpu_mode(0x4303, 0x38)], 20);

    // Download of OB1: the workstation asks, the CPU pulls the block, the CPU ends it.
    let ob1 = "_0800001P";
    let request = s7(
        1,
        0x0104,
        &block_param(0x1a, ob1, b"\x0d1000180000100"),
        &[],
    );
    let request_ack = s7(3, 0x0104, &[0x1a], &[]);
    let pull = s7(1, 0x0200, &block_param(0x1b, ob1, &[]), &[]);
    let block: Vec<u8> = (0..180u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut block_data = (block.len() as u16).to_be_bytes().to_vec();
    block_data.extend_from_slice(&[0x00, 0xfb]);
    block_data.extend_from_slice(&block);
    let pulled = s7(3, 0x0200, &[0x1b, 0x00], &block_data);
    let mut end_param = block_param(0x1c, ob1, &[]);
    end_param[2] = 0x00; // no error
    let end = s7(1, 0x0201, &end_param, &[]);
    let end_ack = s7(3, 0x0201, &[0x1c], &[]);
    let mut ack_and_pull = request_ack.clone();
    ack_and_pull.extend_from_slice(&pull);

    // PLC stop, then a warm restart (PI service P_PROGRAM).
    let mut stop_param = vec![0x29, 0, 0, 0, 0, 0, 9];
    stop_param.extend_from_slice(b"P_PROGRAM");
    let stop = s7(1, 0x0105, &stop_param, &[]);
    let stop_ack = s7(3, 0x0105, &[0x29], &[]);
    let stopped = s7_read_szl(0x0106, 0x0424, &[cpu_mode(0x4304, 0x84)], 20);
    let mut start_param = vec![0x28, 0, 0, 0, 0, 0, 0, 0xfd, 0x00, 0x00, 9];
    start_param.extend_from_slice(b"P_PROGRAM");
    let start = s7(1, 0x0107, &start_param, &[]);
    let start_ack = s7(3, 0x0107, &[0x28], &[]);
    s.tcp_session(
        (WORKSTATION.mac, WORKSTATION.ip, 49_800),
        (S7_PLC.mac, S7_PLC.ip, 102),
        &[
            (cotp_cr, cotp_cc),
            (&setup[..], &setup_ack[..]),
            (&module.0[..], &module.1[..]),
            (&component.0[..], &component.1[..]),
            (&running.0[..], &running.1[..]),
            (&request[..], &ack_and_pull[..]),
            (&pulled[..], &end[..]),
            (&end_ack[..], &[][..]),
            (&stop[..], &stop_ack[..]),
            (&stopped.0[..], &stopped.1[..]),
            (&start[..], &start_ack[..]),
        ],
        120,
        None,
    )?;

    // The historian asks the Logix controller who it is and reads a tag.
    let list_identity = enip(0x0063, 0, &[]);
    let identity = list_identity_reply();
    let register = enip(0x0065, 0, &[1, 0, 0, 0]);
    let registered = enip(0x0065, 0x0a0b_0c0d, &[1, 0, 0, 0]);
    let (read, answer) = cip_read_tag("Line3_Speed", 42.5);
    let read = send_rr_data(0x0a0b_0c0d, &read);
    let answer = send_rr_data(0x0a0b_0c0d, &answer);
    s.tcp_session(
        (HISTORIAN.mac, HISTORIAN.ip, 51_010),
        (LOGIX.mac, LOGIX.ip, 44_818),
        &[
            (&list_identity[..], &identity[..]),
            (&register[..], &registered[..]),
            (&read[..], &answer[..]),
        ],
        100,
        None,
    )?;
    Ok(())
}
