// Places whose country the generator checks in what it writes, and the tests check again.
// Coordinates are the places' centres, [longitude, latitude] (WGS 84).
export type Place = readonly [name: string, lon: number, lat: number];

/** In Ukraine's internationally recognised borders (UNGA resolution 68/262), occupied or not. */
export const UKRAINE: readonly Place[] = [
  ['Kyiv', 30.5234, 50.4501],
  ['Simferopol', 34.1024, 44.9521],
  ['Sevastopol', 33.5254, 44.6166],
  ['Kerch', 36.4683, 45.3563],
  ['Yalta', 34.1663, 44.4952],
  ['Dzhankoi', 34.3933, 45.7086],
  ['Armiansk', 33.6916, 46.1091],
  ['Perekop', 33.693, 46.1583],
  ['Feodosiia', 35.3824, 45.0319],
  ['Yevpatoriia', 33.3669, 45.1905],
  ['Donetsk', 37.8028, 48.0159],
  ['Horlivka', 38.0925, 48.3336],
  ['Mariupol', 37.5434, 47.0971],
  ['Novoazovsk', 38.0815, 47.1135],
  ['Luhansk', 39.3078, 48.574],
  ['Alchevsk', 38.7974, 48.4673],
  ['Sievierodonetsk', 38.4917, 48.9482],
  ['Dovzhansk', 39.6516, 48.0845],
  ['Starobilsk', 38.9093, 49.2781],
  ['Melitopol', 35.3675, 46.8489],
  ['Berdiansk', 36.7885, 46.7553],
  ['Enerhodar', 34.6557, 47.4988],
  ['Kherson', 32.6169, 46.6354],
  ['Nova Kakhovka', 33.3486, 46.7546],
  ['Henichesk', 34.8039, 46.1716],
];

export const RUSSIA: readonly Place[] = [
  ['Moscow', 37.6173, 55.7558],
  ['Belgorod', 36.5873, 50.5954],
  ['Rostov-on-Don', 39.7015, 47.2357],
  ['Taganrog', 38.8969, 47.2362],
  ['Kursk', 36.1926, 51.7304],
  ['Krasnodar', 38.9753, 45.0355],
  ['Slavyansk-na-Kubani', 38.1247, 45.2586],
];
