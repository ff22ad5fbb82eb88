// Drives Confab with the npm package sfmc-sdk, unmodified, and prints what
// each step answered as one JSON object on stdout; test_clients.py checks it.
//
// Settings come from the environment: CONFAB_BASE_URL (http://127.0.0.1:PORT),
// CONFAB_CLIENT_ID, CONFAB_CLIENT_SECRET, CONFAB_ACCOUNT_ID, DE_KEY and
// CONVERSATION_ID.
//
// The scenario: create a data extension; send a three-part asynchronous
// conversation in the order 3, 1, 2 (part 3 updates the row part 1 creates);
// wait for each part's ResultItem; read the rows; then send create() an
// array of rows, which sfmc-sdk serialises without xsi:type, to record the
// error its user gets.

import SDK from 'sfmc-sdk';

const env = process.env;
const base = env.CONFAB_BASE_URL;
const key = env.DE_KEY;
const conversationId = env.CONVERSATION_ID;

// sfmc-sdk's constructor only accepts an auth_url shaped like a tenant's
// https://<28 characters>.auth.marketingcloudapis.com/ and checks it nowhere
// else; the token request is sent to whatever authObject.auth_url holds when
// it is made. So the SDK is built with a well-formed placeholder and then
// pointed at Confab, the only way to aim it at another host.
const sdk = new SDK(
    {
        client_id: env.CONFAB_CLIENT_ID,
        client_secret: env.CONFAB_CLIENT_SECRET,
        account_id: env.CONFAB_ACCOUNT_ID,
        auth_url: `https://${'x'.repeat(28)}.auth.marketingcloudapis.com/`,
    },
    { requestAttempts: 1 }
);
sdk.auth.authObject.auth_url = `${base}/`;

const report = {};

function row(values) {
    return {
        CustomerKey: key,
        Properties: {
            Property: Object.entries(values).map(([Name, Value]) => ({ Name, Value })),
        },
    };
}

function part(sequence) {
    return {
        options: {
            RequestType: 'Asynchronous',
            ConversationID: conversationId,
            SequenceCode: sequence,
            CallsInConversation: 3,
        },
    };
}

async function resultItemsOf(requestId) {
    const deadline = Date.now() + 15000;
    for (;;) {
        const answer = await sdk.soap.retrieve(
            'ResultItem',
            ['RequestID', 'ConversationID', 'StatusCode', 'StatusMessage', 'OrdinalID'],
            { filter: { leftOperand: 'RequestID', operator: 'equals', rightOperand: requestId } }
        );
        if (answer.Results?.length) {
            return answer;
        }
        if (Date.now() > deadline) {
            throw new Error(`no ResultItem for ${requestId} after 15 s`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}

try {
    report.createDataExtension = await sdk.soap.create('DataExtension', {
        CustomerKey: key,
        Name: key,
        Fields: {
            Field: [
                {
                    Name: 'OrderKey',
                    FieldType: 'Text',
                    MaxLength: 50,
                    IsPrimaryKey: true,
                    IsRequired: true,
                },
                { Name: 'Status', FieldType: 'Text', MaxLength: 20 },
            ],
        },
    });

    const update = row({ Status: 'SHIPPED' });
    update.Keys = { Key: [{ Name: 'OrderKey', Value: 'O-1' }] };
    report.part3 = await sdk.soap.update('DataExtensionObject', update, part(3));
    report.part1 = await sdk.soap.create(
        'DataExtensionObject',
        row({ OrderKey: 'O-1', Status: 'NEW' }),
        part(1)
    );
    report.part2 = await sdk.soap.create(
        'DataExtensionObject',
        row({ OrderKey: 'O-2', Status: 'NEW' }),
        part(2)
    );

    report.resultItems = {};
    for (const name of ['part1', 'part2', 'part3']) {
        report.resultItems[name] = await resultItemsOf(report[name].RequestID);
    }
    report.rows = await sdk.soap.retrieve(`DataExtensionObject[${key}]`, ['OrderKey', 'Status']);

    try {
        report.arrayCreate = await sdk.soap.create(
            'DataExtensionObject',
            [row({ OrderKey: 'A-1', Status: 'NEW' }), row({ OrderKey: 'A-2', Status: 'NEW' })],
            { options: { RequestType: 'Asynchronous' } }
        );
    } catch (error) {
        report.arrayCreateError = { name: error.name, message: error.message, code: error.code };
    }
} catch (error) {
    report.error = { name: error.name, message: error.message, code: error.code };
}

process.stdout.write(JSON.stringify(report));
