import { mount } from 'svelte';
import App from './App.svelte';
import ConsoleWindow from './pages/ConsoleWindow.svelte';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
// A console window (`#/console/<id>`) shows only the console, without the manager around it.
mount(window.location.hash.startsWith('#/console/') ? ConsoleWindow : App, { target });
